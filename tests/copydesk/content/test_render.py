from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from copydesk.content.render import RenderedDocument, RenderError, render_markdown, render_outputs
from copydesk.content.types import ContentType, load_content_type
from copydesk.hashing import canonical_json
from copydesk.inputs.readers import ingest_rows
from copydesk.settings import get_settings

SHIPPED = ["article", "product_description", "restaurant"]
PASSWD = Path("/etc/passwd")
SCRIPT, IMAGE = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
SECTIONS = {
    "article": {
        "intro": "Herbs are easy.\nEven on a balcony.",
        "body": "## Choosing a spot\nSix hours of sun.\n\nMore text.",
    },
    "product_description": {
        "title": "A Linen Throw",
        "description": "Soft linen.\n\nMachine washable.",
        "bullets": "- Linen and cotton\n* Oatmeal, sage, charcoal\n• 130 x 170 cm",
    },
    "restaurant": {"description": "A coffee shop by the river."},
}


def sample_records(content_type: ContentType) -> list[dict[str, Any]]:
    folder = content_type.folder / "samples"
    items = [item for path in sorted(folder.iterdir()) for item in ingest_rows(path, content_type)]
    assert items and all(item.status == "ingested" for item in items)
    return [item.input_record for item in items]


def by_format(documents: list[RenderedDocument]) -> dict[str, str]:
    return {document.format: document.data.decode("utf-8") for document in documents}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_sample_renders_markdown_html_and_json(name: str) -> None:
    content_type = load_content_type(name)
    for record in sample_records(content_type):
        documents = render_outputs(content_type, record, SECTIONS[name])
        described = [(d.format, d.extension, d.media_type) for d in documents]
        assert described == [
            ("markdown", "md", "text/markdown; charset=utf-8"),
            ("html", "html", "text/html; charset=utf-8"),
            ("json", "json", "application/json"),
        ]
        markdown, html, data = (document.data for document in documents)
        assert markdown.endswith(b"\n") and not markdown.endswith(b"\n\n")
        assert b"\n\n\n" not in markdown
        assert html.startswith(b"<") and html.endswith(b">\n")
        assert json.loads(data) == {
            "content_type": name,
            "template_sha256": content_type.template_sha256,
            "record": record,
            "sections": SECTIONS[name],
        }
        assert render_outputs(content_type, record, SECTIONS[name]) == documents  # same bytes
        assert render_markdown(content_type, record, SECTIONS[name]).encode() == markdown


def test_the_product_page_in_each_format() -> None:
    content_type = load_content_type("product_description")
    record = sample_records(content_type)[0]
    texts = by_format(render_outputs(content_type, record, SECTIONS["product_description"]))
    assert texts["markdown"] == (
        "# A Linen Throw\n\nSoft linen.\n\nMachine washable.\n\n"
        "- Linen and cotton\n- Oatmeal, sage, charcoal\n- 130 x 170 cm\n\n"
        "**Price:** 49.00 USD\n"
    )
    assert "<li>Oatmeal, sage, charcoal</li>" in texts["html"]
    assert '<p class="price">49.00 USD</p>' in texts["html"]
    assert texts["json"] == canonical_json(json.loads(texts["json"]))


def test_json_keeps_unicode_as_utf8() -> None:
    content_type = load_content_type("product_description")
    record = next(r for r in sample_records(content_type) if r["brand"] == "Maison Bérard")
    documents = render_outputs(content_type, record, SECTIONS["product_description"])
    assert "Maison Bérard".encode() in documents[-1].data


def test_markup_in_records_and_sections_is_escaped_in_html_only() -> None:
    content_type = load_content_type("restaurant")
    record = sample_records(content_type)[0] | {"name": SCRIPT}
    texts = by_format(render_outputs(content_type, record, {"description": f"Nice. {IMAGE}"}))
    html = texts["html"]
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert SCRIPT in texts["markdown"] and IMAGE in texts["markdown"]  # markdown is plain text
    assert json.loads(texts["json"])["record"]["name"] == SCRIPT


def test_markup_in_split_and_joined_sections_is_escaped_too() -> None:
    content_type = load_content_type("article")
    record = sample_records(content_type)[0] | {"title": IMAGE}
    sections = {"intro": f"{SCRIPT}\nsecond line", "body": f"## {IMAGE}\n{SCRIPT}"}
    html = by_format(render_outputs(content_type, record, sections))["html"]
    assert "<script" not in html and "<img" not in html
    assert "<h2>&lt;img src=x onerror=alert(1)&gt;</h2>" in html


def test_template_syntax_in_values_is_printed_verbatim() -> None:
    content_type = load_content_type("restaurant")
    # rendered, the name would read "quxquxqux": letters no digest or sample record holds
    record = sample_records(content_type)[0] | {"name": "{{ 'qux' * 3 }}"}
    sections = {"description": "{% for x in range(10**9) %}x{% endfor %} {{ record.__class__ }}"}
    for text in by_format(render_outputs(content_type, record, sections)).values():
        assert "{{ 'qux' * 3 }}" in text or "{{ &#39;qux&#39; * 3 }}" in text
        assert "quxqux" not in text
        assert "{% for x in range(10**9) %}x{% endfor %} {{ record.__class__ }}" in text


def passwd_lines() -> list[str]:
    return [line for line in PASSWD.read_text().splitlines() if line] if PASSWD.is_file() else []


@pytest.mark.parametrize("template", ["output.md.j2", "output.html.j2"])
@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ record.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ content_type.folder.joinpath('/etc/passwd').read_text() }}",
        "{% include '/etc/passwd' %}",
        "{% include '../../../etc/passwd' %}",
        "{{ sections.missing }}",
        "{% for %}",
    ],
)
def test_a_hostile_or_broken_output_template_is_a_render_error(
    template: str, source: str, tmp_path: Path
) -> None:
    folder = tmp_path / "templates" / "restaurant"
    shutil.copytree(get_settings().templates_dir / "restaurant", folder)
    (folder / template).write_text(source, encoding="utf-8")
    content_type = load_content_type("restaurant", folder.parent)
    record = sample_records(load_content_type("restaurant"))[0]
    with pytest.raises(RenderError) as caught:
        render_outputs(content_type, record, SECTIONS["restaurant"])
    message = str(caught.value)
    assert "'restaurant'" in message and repr(template) in message
    assert not any(line in message for line in passwd_lines())


def test_a_missing_section_is_a_render_error() -> None:
    content_type = load_content_type("article")
    record = sample_records(content_type)[0]
    with pytest.raises(RenderError, match=r"'output.md.j2'.*UndefinedError.*'body'"):
        render_outputs(content_type, record, {"intro": "Only the intro."})
