from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from copydesk.content.outline import Outline, PlanError, render_plan, sandboxed_environment
from copydesk.content.types import ContentType, load_content_type
from copydesk.errors import CopydeskError
from copydesk.inputs.readers import ingest_rows
from copydesk.settings import get_settings

SHIPPED = ["article", "product_description", "restaurant"]
PASSWD = Path("/etc/passwd")


def sample_records(content_type: ContentType) -> list[dict[str, Any]]:
    """Every sample row of the content type, ingested (all of them valid)."""
    folder = content_type.folder / "samples"
    items = [item for path in sorted(folder.iterdir()) for item in ingest_rows(path, content_type)]
    assert items and all(item.status == "ingested" for item in items)
    return [item.input_record for item in items]


def copy_type(name: str, tmp_path: Path) -> Path:
    """A copy of a shipped content type under tmp_path/templates/, to edit freely."""
    folder = tmp_path / "templates" / name
    shutil.copytree(get_settings().templates_dir / name, folder)
    return folder


def product(**values: Any) -> dict[str, Any]:
    """A product record with every field present."""
    record: dict[str, Any] = dict(name="Lamp", brand=None, category=None, price="49.00")
    record |= dict(currency="USD", materials=[], colours=[], dimensions=None, features=[])
    return record | values


@pytest.mark.parametrize("name", SHIPPED)
def test_every_sample_gets_a_plan_with_the_manifest_sections(name: str) -> None:
    content_type = load_content_type(name)
    for record in sample_records(content_type):
        plan = render_plan(content_type, record)
        assert plan.content_type == name
        assert plan.template_sha256 == content_type.template_sha256
        assert [s.name for s in plan.sections] == [s.name for s in content_type.sections]
        for section, spec in zip(plan.sections, content_type.sections, strict=True):
            assert section.prompt.strip() == section.prompt and section.prompt
            assert "\n\n\n" not in section.prompt
            assert all(line == line.rstrip() for line in section.prompt.splitlines())
            assert list(section.facts) == [f for f in spec.facts if f in section.facts]
            assert all(record[f] == v and v not in (None, [], "") for f, v in section.facts.items())
            assert (section.format, section.min_words, section.max_words) == (
                spec.format,
                spec.min_words,
                spec.max_words,
            )
            assert (section.min_items, section.max_items) == (spec.min_items, spec.max_items)
            assert (section.min_sentences, section.max_sentences, section.tone) == (
                spec.min_sentences,
                spec.max_sentences,
                spec.tone,
            )
            assert section.max_new_tokens == spec.max_new_tokens


@pytest.mark.parametrize("name", SHIPPED)
def test_a_plan_survives_json_and_back(name: str) -> None:
    content_type = load_content_type(name)
    plan = render_plan(content_type, sample_records(content_type)[0])
    stored = json.loads(json.dumps(plan.as_dict()))
    assert Outline.from_dict(stored) == plan
    assert stored["sections"][0]["name"] == content_type.sections[0].name


def test_an_unreadable_stored_plan_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="stored plan"):
        Outline.from_dict({"content_type": "article", "sections": [{"name": "intro"}]})


def test_prompts_carry_the_record_and_facts_keep_false_but_not_blanks() -> None:
    content_type = load_content_type("restaurant")
    alimentum = sample_records(content_type)[0]
    (section,) = render_plan(content_type, alimentum).sections
    assert section.facts == {"name": "Alimentum", "area": "city centre", "familyFriendly": False}
    assert section.prompt.splitlines()[1:] == [
        "Name: Alimentum",
        "Area: city centre",
        "Family-friendly: no",
    ]


HOSTILE_VALUES = [
    "{{ 7*7 }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ record.__class__.__init__.__globals__ }}",
    "{% include '/etc/passwd' %}",
]


def test_input_values_are_data_never_template_source() -> None:
    content_type = load_content_type("product_description")
    record = product(
        name=HOSTILE_VALUES[0],
        brand=HOSTILE_VALUES[1],
        category=HOSTILE_VALUES[2],
        features=HOSTILE_VALUES[3:],
    )
    title, description, bullets = render_plan(content_type, record).sections
    assert title.prompt.splitlines()[1:] == [
        "Product: {{ 7*7 }}",
        "Brand: {% for x in range(10**9) %}x{% endfor %}",
        "Category: {{ ''.__class__.__mro__[1].__subclasses__() }}",
    ]
    assert f"Features: {'; '.join(HOSTILE_VALUES[3:])}" in description.prompt
    assert "49" not in title.prompt and "xx" not in title.prompt
    assert title.facts == {"name": "{{ 7*7 }}", "brand": HOSTILE_VALUES[1]}
    assert bullets.facts["features"] == HOSTILE_VALUES[3:]


def passwd_lines() -> list[str]:
    return [line for line in PASSWD.read_text().splitlines() if line] if PASSWD.is_file() else []


HOSTILE_TEMPLATES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ record.__class__ }}",
    "{{ record.__class__.__init__.__globals__['os'].popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('cat /etc/passwd').read() }}",
    "{{ lipsum.__globals__['os'].listdir('/') }}",
    "{{ content_type.folder.joinpath('/etc/passwd').read_text() }}",
    "{{ (content_type | attr('folder')).joinpath('/etc/passwd').read_text() }}",
    "{{ content_type.model_copy() }}",
    "{{ record.update({'name': 'changed'}) }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../../etc/passwd' %}",
    "{% include '../../../../../../../../etc/passwd' %}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ 10 ** 1000 }}",
    "{{ (10 ** 100) ** 100 }}",
    "{{ record.no_such_field }}",
    "{{ undefined_name }}",
    "{% if record.name %}unclosed",
    "{{ 1 / 0 }}",
]


@pytest.mark.parametrize("source", HOSTILE_TEMPLATES)
def test_a_hostile_or_broken_prompt_template_is_a_plan_error(source: str, tmp_path: Path) -> None:
    folder = copy_type("product_description", tmp_path)
    (folder / "title.prompt.j2").write_text(source, encoding="utf-8")
    content_type = load_content_type("product_description", folder.parent)
    record = product(name="Lamp")
    with pytest.raises(PlanError) as caught:
        render_plan(content_type, record)
    message = str(caught.value)
    assert "'product_description'" in message and "'title.prompt.j2'" in message
    assert isinstance(caught.value, CopydeskError)
    assert not any(line in message for line in passwd_lines())
    assert record["name"] == "Lamp"


def test_a_template_deleted_after_loading_is_a_plan_error(tmp_path: Path) -> None:
    folder = copy_type("article", tmp_path)
    content_type = load_content_type("article", folder.parent)
    (folder / "body.prompt.j2").unlink()
    record = sample_records(load_content_type("article"))[0]
    with pytest.raises(PlanError, match=r"'article', template 'body.prompt.j2'.*TemplateNotFound"):
        render_plan(content_type, record)


def test_the_error_names_the_line(tmp_path: Path) -> None:
    folder = copy_type("restaurant", tmp_path)
    (folder / "description.prompt.j2").write_text("Name: {{ record.name }}\n{{ record.nope }}\n")
    content_type = load_content_type("restaurant", folder.parent)
    record = sample_records(load_content_type("restaurant"))[0]
    with pytest.raises(PlanError, match=r"'description.prompt.j2', line 2: UndefinedError"):
        render_plan(content_type, record)


def test_one_sandboxed_environment_per_folder_and_mode() -> None:
    folder = load_content_type("article").folder
    environment = sandboxed_environment(folder)
    assert isinstance(environment, ImmutableSandboxedEnvironment)
    assert sandboxed_environment(folder) is environment
    assert not environment.autoescape
    escaping = sandboxed_environment(folder, autoescape=True)
    assert escaping is not environment and escaping.autoescape
