"""A hostile content type: its templates run in Copydesk's sandbox and get nothing else.

Content types load from a templates folder (`load_content_type(name, templates_dir)`);
here a copy of a shipped one under tmp_path, with one template replaced by an attack.
Whatever it tries (reading files, the environment, Python internals, huge output), the
result is a `CopydeskError` (PlanError for prompts, RenderError for output documents)
that names the content type and template, and holds no secret or file content.
tests/copydesk/test_planning.py and test_render.py cover the ordinary cases; values from
records as template source are tested there and in the bad-input corpus.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from copydesk.content.outline import (
    MAX_REPEAT,
    SAFE_ATTRIBUTE_MEMO,
    render_plan,
    sandboxed_environment,
)
from copydesk.content.render import RenderError, render_outputs
from copydesk.content.types import load_content_type
from copydesk.errors import CopydeskError
from copydesk.settings import get_settings

CANARY = "canary-secret-0b6f3c"  # in the environment: must never come out
OUTSIDE = "outside-file-text-91c2"  # in a file next to the templates folder

HOSTILE = {
    # files: absolute, relative, through every loading tag
    "include-absolute": "{% include '/etc/passwd' %}",
    "include-parent": "{% include '../secret.txt' %}",
    "include-deep-parent": "{% include '../../../../../../../../../etc/passwd' %}",
    "import-parent": "{% import '../secret.txt' as s %}{{ s }}",
    "extends-parent": "{% extends '../secret.txt' %}",
    "from-import": "{% from '/etc/passwd' import x %}{{ x }}",
    "include-list": "{% include ['../secret.txt', '/etc/passwd'] %}",
    # Python internals, from every object the template is given or Jinja provides
    "str-mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "record-class": "{{ record.__class__ }}",
    "record-globals": "{{ record.__class__.__init__.__globals__ }}",
    "record-items-class": "{{ record.items().__class__.__base__ }}",
    "cycler-globals": "{{ cycler.__init__.__globals__.os.environ }}",
    "joiner-globals": "{{ joiner.__init__.__globals__.os.environ }}",
    "namespace-globals": "{{ namespace.__init__.__globals__.os.environ }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].environ }}",
    "self-context": "{{ self._TemplateReference__context }}",
    "self-context-attr": "{{ self | attr('_TemplateReference__context') }}",
    "format-attr": "{{ '{0.__class__.__init__.__globals__}'.format(record) }}",
    "format-map": "{{ '{x.__class__}'.format_map({'x': record}) }}",
    "percent-format": "{{ '%s' % record.__class__ }}",
    "content-type-folder": "{{ content_type.folder.parent.joinpath('secret.txt').read_text() }}",
    "content-type-folder-attr": "{{ (content_type | attr('folder')).read_text() }}",
    "pydantic-internals": "{{ content_type.model_dump_json() }}{{ content_type.__dict__ }}",
    "pydantic-class": "{{ content_type.__class__.__init__.__globals__ }}",
    "mutate-record": "{{ record.update({'name': 'changed'}) }}{{ record.clear() }}",
    "mutate-list": "{{ record.features.append('x') }}",
    "config": "{{ config }}{{ request }}{{ os }}",
    "getattr-filter": "{{ record | attr('__class__') | attr('__mro__') }}",
    # resource exhaustion: bounded or refused at once
    "range-huge": "{% for x in range(10**9) %}x{% endfor %}",
    "string-repeat": "{{ 'x' * 10**9 }}",
    "string-repeat-twice": "{{ ('x' * 100000) * 100000 }}",
    "list-repeat": "{{ [1] * 10**9 }}",
    "power": "{{ 10 ** 1000 }}",
    "power-chain": "{{ (10 ** 100) ** 100 }}",
    "big-multiply-loop": "{% set s = 'x' * 100000 %}{% for i in range(3) %}{% set s = s * 2 %}{% endfor %}{{ s * 2 }}",
}


@pytest.fixture
def hostile_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of product_description under tmp_path/templates, a secret next to it, and a
    secret in the environment."""
    monkeypatch.setenv("COPYDESK_S3_SECRET_KEY", CANARY)
    monkeypatch.setenv("CANARY_SECRET", CANARY)
    (tmp_path / "templates" / "secret.txt").parent.mkdir()
    (tmp_path / "templates" / "secret.txt").write_text(OUTSIDE)
    (tmp_path / "secret.txt").write_text(OUTSIDE)
    folder = tmp_path / "templates" / "product_description"
    shutil.copytree(get_settings().templates_dir / "product_description", folder)
    return folder


def record() -> dict[str, object]:
    return dict(
        name="Lamp",
        brand=None,
        category=None,
        price="49.00",
        currency="USD",
        materials=[],
        colours=[],
        dimensions=None,
        features=["dimmable"],
    )


def passwd_lines() -> list[str]:
    passwd = Path("/etc/passwd")
    return [line for line in passwd.read_text().splitlines() if line] if passwd.is_file() else []


def assert_nothing_leaked(message: str) -> None:
    assert CANARY not in message and OUTSIDE not in message
    assert not any(line in message for line in passwd_lines())
    assert "Traceback" not in message


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_prompt_template_is_a_copydesk_error(hostile_type: Path, source: str) -> None:
    (hostile_type / "title.prompt.j2").write_text(source, encoding="utf-8")
    content_type = load_content_type("product_description", hostile_type.parent)
    given = record()
    started = time.perf_counter()
    with pytest.raises(CopydeskError) as caught:
        render_plan(content_type, given)
    assert time.perf_counter() - started < 5  # refused, not worked through
    message = str(caught.value)
    assert message.startswith("content type 'product_description', template 'title.prompt.j2'")
    assert_nothing_leaked(message)
    assert given == record()  # the record handed in is unchanged


@pytest.mark.parametrize(
    "source",
    [HOSTILE[name] for name in ("include-parent", "cycler-globals", "self-context", "range-huge")],
)
def test_a_hostile_output_template_is_a_render_error(hostile_type: Path, source: str) -> None:
    (hostile_type / "output.html.j2").write_text(source, encoding="utf-8")
    content_type = load_content_type("product_description", hostile_type.parent)
    sections = {"title": "Lamp", "description": "A lamp.", "bullets": "- bright"}
    with pytest.raises(RenderError) as caught:
        render_outputs(content_type, record(), sections)
    assert "'output.html.j2'" in str(caught.value)
    assert_nothing_leaked(str(caught.value))


def test_remembered_decisions_refuse_as_the_first_did(hostile_type: Path) -> None:
    """The sandbox keeps its decisions on attributes (by the types and the name): every
    record meets the refusal the first one met, and the permissions stay as narrow."""
    (hostile_type / "description.prompt.j2").write_text(HOSTILE["record-class"], encoding="utf-8")
    content_type = load_content_type("product_description", hostile_type.parent)
    for name in ("Lamp", "Chair", "Desk"):
        with pytest.raises(CopydeskError, match=r"description\.prompt\.j2.*unsafe"):
            render_plan(content_type, record() | {"name": name})
    memo = sandboxed_environment(content_type.folder, autoescape=False)._safe
    assert memo[(dict, "__class__", type)] is False
    assert 0 < len(memo) <= SAFE_ATTRIBUTE_MEMO


def test_what_a_template_may_do_stays_small(hostile_type: Path) -> None:
    """Within the bounds a template renders: a repetition up to MAX_REPEAT, a small
    power, a range loop; the prompt holds exactly that, and nothing more."""
    source = (
        "{{ 'ab' * 3 }} {{ 2 ** 10 }} {% for i in range(3) %}{{ i }}{% endfor %} "
        f"{{{{ ('x' * {MAX_REPEAT}) | length }}}} {{{{ record.name | upper }}}}"
    )
    (hostile_type / "title.prompt.j2").write_text(source, encoding="utf-8")
    content_type = load_content_type("product_description", hostile_type.parent)
    title = render_plan(content_type, record()).sections[0]
    assert title.prompt == f"ababab 1024 012 {MAX_REPEAT} LAMP"


def test_a_content_type_name_cannot_leave_the_templates_folder(hostile_type: Path) -> None:
    for name in ("../templates/product_description", "/etc", "..", "product_description/.."):
        with pytest.raises(CopydeskError, match="unknown content type"):
            load_content_type(name, hostile_type.parent)
