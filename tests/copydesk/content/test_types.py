from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from copydesk.content.types import (
    ContentType,
    list_content_types,
    load_content_type,
    template_sha256,
)
from copydesk.errors import ConfigurationError
from copydesk.inputs.readers import ingest_rows
from copydesk.settings import get_settings

SHIPPED = ["article", "product_description", "restaurant"]


def copy_type(name: str, tmp_path: Path) -> Path:
    """A copy of a shipped content type under tmp_path/templates/, to edit freely."""
    folder = tmp_path / "templates" / name
    shutil.copytree(get_settings().templates_dir / name, folder)
    return folder


def render(content_type: ContentType, template: str, *, autoescape: bool, **context: object) -> str:
    """Render like the planner will: sandboxed, and strict about undefined names."""
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape)
    source = (content_type.folder / template).read_text(encoding="utf-8")
    return env.from_string(source).render(content_type=content_type, **context)


def sample_records(content_type: ContentType) -> list[dict[str, object]]:
    items = [
        item
        for path in sorted((content_type.folder / "samples").iterdir())
        for item in ingest_rows(path, content_type)
    ]
    assert items and all(item.status == "ingested" for item in items), [i.error for i in items]
    return [item.input_record for item in items]


def test_the_shipped_types_are_listed() -> None:
    assert list_content_types() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_types_load_with_their_templates_and_samples(name: str) -> None:
    content_type = load_content_type(name)
    assert content_type.name == name
    assert content_type.template_sha256.startswith("sha256:")
    for template in content_type.template_files:
        assert (content_type.folder / template).is_file()
    assert content_type.outputs.markdown == "output.md.j2"
    assert content_type.outputs.html == "output.html.j2"
    assert any((content_type.folder / "samples").iterdir())


@pytest.mark.parametrize("name", SHIPPED)
def test_prompts_and_outputs_render_for_every_sample(name: str) -> None:
    content_type = load_content_type(name)
    sections = {s.name: f"Some {s.name} text.\n- one\n- two" for s in content_type.sections}
    for record in sample_records(content_type):
        for section in content_type.sections:
            prompt = render(content_type, section.prompt, autoescape=False, record=record)
            assert str(record[next(iter(content_type.fields))]) in prompt
            assert "{{" not in prompt and len(prompt.split()) < 200  # short, for a small model
        for template in (content_type.outputs.markdown, content_type.outputs.html):
            assert template is not None
            html = template.endswith(".html.j2")
            out = render(content_type, template, autoescape=html, record=record, sections=sections)
            assert "Some " in out


def test_product_prompt_carries_the_facts_and_targets() -> None:
    content_type = load_content_type("product_description")
    record = sample_records(content_type)[0]
    prompt = render(content_type, "description.prompt.j2", autoescape=False, record=record)
    assert "60-120 word product description" in prompt
    assert "Linen Throw Blanket" in prompt and "linen, cotton" in prompt


@pytest.mark.parametrize("name", SHIPPED)
def test_html_output_escapes_user_data(name: str) -> None:
    content_type = load_content_type(name)
    record = sample_records(content_type)[0]
    key = next(iter(content_type.fields))  # name / title
    record = {**record, key: "<script>alert(1)</script>"}
    sections = {s.name: "<b>bold</b> & more" for s in content_type.sections}
    out = render(content_type, "output.html.j2", autoescape=True, record=record, sections=sections)
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in out


def test_restaurant_reads_the_mr_column_and_maps_customer_rating() -> None:
    content_type = load_content_type("restaurant")
    assert content_type.input.format == "e2e_mr"
    assert content_type.input.column == "mr"
    assert content_type.key_to_field["customer rating"] == "customer_rating"
    assert content_type.fields["eatType"].values == ["coffee shop", "pub", "restaurant"]
    assert content_type.fields["eatType"].synonyms["coffee shop"] == [
        "café",
        "cafe",
        "coffee house",
    ]


def test_unknown_type_lists_the_available_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_content_type("poem")
    message = str(caught.value)
    assert "'poem'" in message
    assert "article, product_description, restaurant" in message


def edit_manifest(folder: Path, old: str, new: str) -> Path:
    manifest = folder / "manifest.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")
    return manifest


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "price: {type: decimal",
            "price: {tpye: decimal",
            "fields.price.tpye: Extra inputs are not permitted",
        ),
        ("checks:", "check:", "check: Extra inputs are not permitted"),
        ("type: decimal", "type: money", "fields.price.type: Input should be"),
        ("max_items: 8", "max_itmes: 8", "fields.features.max_itmes"),
        ("min: 0, decimals: 2", "min: 0, max_items: 2", "option 'max_items' does not apply"),
        ("default: USD", "default: JPY", "fields.currency.default: 'JPY' is not one of"),
        ("min_words: 60", "min_words: 600", "min_words (600) is greater than max_words (120)"),
        ("facts: [name, brand]", "facts: [name, maker]", "unknown fields ['maker']"),
        ("name: product_description", "name: product", "does not match its folder"),
        ("prompt: title.prompt.j2", "prompt: headline.prompt.j2", "headline.prompt.j2"),
        ("outputs: {markdown: output.md.j2, ", "outputs: {", "outputs.markdown: Field required"),
        ("outputs:", "outputz:", "outputs: Field required"),
    ],
)
def test_a_bad_manifest_names_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    manifest = edit_manifest(copy_type("product_description", tmp_path), old, new)
    with pytest.raises(ConfigurationError) as caught:
        load_content_type("product_description", tmp_path / "templates")
    assert str(manifest) in str(caught.value)
    assert expected in str(caught.value)


def test_manifest_that_is_not_yaml_is_reported(tmp_path: Path) -> None:
    folder = copy_type("article", tmp_path)
    (folder / "manifest.yaml").write_text("name: [article\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"invalid content type manifest .*manifest\.yaml"):
        load_content_type("article", tmp_path / "templates")


def test_template_hash_follows_the_templates_not_the_samples(tmp_path: Path) -> None:
    folder = copy_type("product_description", tmp_path)
    root = tmp_path / "templates"
    original = load_content_type("product_description").template_sha256
    assert load_content_type("product_description", root).template_sha256 == original

    (folder / "samples" / "products.csv").write_text("name,price\nLamp,1\n", encoding="utf-8")
    assert template_sha256(folder) == original

    prompt = folder / "title.prompt.j2"
    prompt.write_text(prompt.read_text(encoding="utf-8") + "Be brief.\n", encoding="utf-8")
    changed = load_content_type("product_description", root).template_sha256
    assert changed != original

    (folder / "extra.md.j2").write_text("x", encoding="utf-8")  # a new template counts too
    assert template_sha256(folder) != changed

    edit_manifest(folder, "tone: friendly", "tone: warm")
    assert template_sha256(folder) not in {original, changed}


def test_types_can_live_in_another_folder(tmp_path: Path) -> None:
    assert list_content_types(tmp_path) == []
    assert list_content_types(tmp_path / "missing") == []
    copy_type("article", tmp_path)
    assert list_content_types(tmp_path / "templates") == ["article"]
