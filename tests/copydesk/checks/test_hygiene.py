from __future__ import annotations

from typing import Any

import pytest

from copydesk.checks.findings import CheckFinding
from copydesk.checks.hygiene import check_leftovers, check_length
from copydesk.checks.suite import run_section_checks
from copydesk.content.outline import SectionPlan, render_plan
from copydesk.content.types import ContentType, load_content_type
from copydesk.inputs.readers import ingest_rows


def first_plan(type_name: str) -> tuple[dict[str, SectionPlan], ContentType]:
    """The sections planned for the content type's first sample record, by name."""
    content_type = load_content_type(type_name)
    path = sorted((content_type.folder / "samples").iterdir())[0]
    record: dict[str, Any] = next(ingest_rows(path, content_type)).input_record
    plan = render_plan(content_type, record)
    return {section.name: section for section in plan.sections}, content_type


def words(count: int) -> str:
    return " ".join(["word"] * count) + "."


@pytest.mark.parametrize(("count", "message"), [(59, "59 words, at least 60 wanted"), (60, None), (120, None), (121, "121 words, at most 120 wanted")])  # fmt: skip
def test_words_within_the_targets(count: int, message: str | None) -> None:
    section = first_plan("product_description")[0]["description"]  # 60-120 words
    findings = check_length(section, words(count))
    assert [f.message for f in findings] == ([message] if message else [])
    assert all((f.check, f.severity) == ("length", "warning") for f in findings)


def test_too_many_words_points_from_the_first_extra_word() -> None:
    section = first_plan("product_description")[0]["title"]  # 3-12 words
    text = "Linen Throw Blanket by Hearth & Loom, stonewashed, soft, warm, light, fringed, machine-washable, cosy, new"
    (finding,) = check_length(section, text)
    assert finding.span_start is not None
    assert text[finding.span_start : finding.span_end] == "cosy, new"
    assert finding.suggestion == "cut to at most 12 words"
    (finding,) = check_length(section, "Linen Throw")
    assert (finding.span_start, finding.span_end) == (None, None)


def test_sentences_within_the_targets() -> None:
    section = first_plan("restaurant")[0]["description"]  # 1-3 sentences, at most 70 words
    assert check_length(section, "Alimentum costs $49.00 in the city centre! Is it good? Yes") == []
    text = "One. Two is here. Three! Four? Five."
    (finding,) = check_length(section, text)
    assert finding.message == "5 sentences, at most 3 wanted"
    assert text[finding.span_start : finding.span_end] == "Four? Five."
    assert check_length(section, "")[0].message == "0 sentences, at least 1 wanted"


def test_bullet_items_within_the_targets() -> None:
    section = first_plan("product_description")[0]["bullets"]  # 3-5 items
    assert check_length(section, "- one\n- two\n\n- three\n") == []
    (finding,) = check_length(section, "- one\n- two")
    assert finding.message == "2 items, at least 3 wanted"
    text = "- one\n- two\n- three\n- four\n- five\n- six\n- seven"
    (finding,) = check_length(section, text)
    assert finding.message == "7 items, at most 5 wanted"
    assert text[finding.span_start : finding.span_end] == "- six\n- seven"


def test_items_are_not_counted_outside_bullet_sections() -> None:
    section = first_plan("restaurant")[0]["description"]
    assert check_length(section, "A.\nB.\nC.") == []


@pytest.mark.parametrize(
    ("text", "leftover"),
    [
        ("<|im_start|>assistant\nA fine lamp.", "<|im_start|>"),
        ("A fine lamp.<|im_end|>", "<|im_end|>"),
        ("A fine lamp.<|endoftext|>", "<|endoftext|>"),
        ("[INST] A fine lamp.", "[INST]"),
        ("assistant: A fine lamp.", "assistant:"),
        ("A fine lamp.\n  User: thanks", "User:"),
        ("A fine lamp.</s>", "</s>"),
    ],
)
def test_chat_template_leftovers_are_errors_with_spans(text: str, leftover: str) -> None:
    (finding,) = check_leftovers(text)
    assert (finding.check, finding.severity) == ("leftovers", "error")
    assert finding.span_start is not None
    assert text[finding.span_start : finding.span_end].strip() == leftover


def test_roles_mid_line_and_ordinary_text_are_fine() -> None:
    assert check_leftovers("Ask the shop assistant: they know. A user: friendly <b>lamp</b>.") == []


def test_an_echoed_prompt_is_an_error() -> None:
    section = first_plan("product_description")[0]["title"]
    text = "Write a product title for an online shop, 3 to 12 words.\nLinen Throw Blanket"
    (finding,) = check_leftovers(text, prompt=section.prompt)
    assert finding.message.startswith("repeats the prompt: 'Write a product title")
    assert (finding.span_start, finding.span_end) == (0, text.index("\n"))
    assert check_leftovers(text) == []  # without the prompt there is nothing to compare


def test_facts_from_the_prompt_are_not_an_echo() -> None:
    section = first_plan("product_description")[0]["bullets"]
    text = "- Price: 49.00 USD\n- Materials: linen, cotton\n- Colours: oatmeal, sage, charcoal"
    assert check_leftovers(text, prompt=section.prompt) == []


def test_run_section_checks_gathers_facts_length_and_leftovers() -> None:
    sections, content_type = first_plan("restaurant")  # Alimentum, city centre, not family
    section = sections["description"]
    record = {"name": "Alimentum", "area": "city centre", "familyFriendly": False}
    good = "Alimentum is in the city centre and is not family-friendly."
    assert run_section_checks(section, good, content_type, record) == []
    bad = "<|im_start|>Alimentum is a family-friendly place. " + words(70)
    findings = run_section_checks(section, bad, content_type, record)
    assert {(f.check, f.severity, f.field or "") for f in findings} == {
        ("facts_present", "error", "area"),
        ("facts_present", "error", "familyFriendly"),
        ("no_invented_values", "error", "familyFriendly"),  # says "family-friendly"
        ("leftovers", "error", ""),
        ("length", "warning", ""),
        ("repetition", "error", ""),  # "word word word word" said again and again
        ("grammar", "warning", ""),  # ... which harper also sees
    }
    assert isinstance(findings[0], CheckFinding)
