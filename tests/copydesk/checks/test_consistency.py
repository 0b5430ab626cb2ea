from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copydesk.checks.consistency import _Folded, check_facts_present
from copydesk.checks.findings import CheckFinding
from copydesk.content.outline import SectionPlan, render_plan
from copydesk.content.types import ContentType, load_content_type
from copydesk.inputs.readers import ingest_rows


def samples(name: str) -> tuple[ContentType, list[dict[str, Any]]]:
    content_type = load_content_type(name)
    folder = content_type.folder / "samples"
    items = [item for path in sorted(folder.iterdir()) for item in ingest_rows(path, content_type)]
    return content_type, [item.input_record for item in items]


def plan_section(type_name: str, section: str, /, **match: Any) -> tuple[SectionPlan, ContentType]:
    """The planned section for the first sample record whose fields equal `match`."""
    content_type, records = samples(type_name)
    record = next(r for r in records if all(r[k] == v for k, v in match.items()))
    plan = render_plan(content_type, record)
    return next(s for s in plan.sections if s.name == section), content_type


def missing(section: SectionPlan, text: str, content_type: ContentType) -> list[tuple[str, str]]:
    """(field, message) of each finding, after checking their common shape."""
    findings = check_facts_present(section, text, content_type)
    for finding in findings:
        assert (finding.check, finding.severity) == ("facts_present", "error")
        assert finding.field in section.facts and finding.suggestion
    return [(f.field or "", f.message) for f in findings]


# --- product_description ---------------------------------------------------------------

LINEN = dict(name="Linen Throw Blanket")
LINEN_BULLETS = (
    "- Stonewashed for softness and machine-washable, with fringed edges\n"
    "- Woven from linen & cotton\n"
    "- Comes in oatmeal, sage or charcoal\n"
    "- Measures 130 \u00d7 170 cm\n"  # a multiplication sign
    "- Only $49"
)


def test_product_bullets_with_every_fact_pass() -> None:
    section, content_type = plan_section("product_description", "bullets", **LINEN)
    assert missing(section, LINEN_BULLETS, content_type) == []


def test_product_title_and_description_tolerate_case_spacing_and_and() -> None:
    title, content_type = plan_section("product_description", "title", **LINEN)
    assert missing(title, "LINEN   THROW\nBLANKET by Hearth and Loom", content_type) == []
    description, _ = plan_section("product_description", "description", **LINEN)
    text = (
        "The Linen Throw Blanket from Hearth & Loom is home textiles at their best: linen, cotton."
    )
    assert missing(description, text, content_type) == []


def test_a_missing_colour_is_one_finding_naming_it() -> None:
    section, content_type = plan_section("product_description", "bullets", **LINEN)
    text = LINEN_BULLETS.replace("oatmeal, sage or charcoal", "oatmeal or charcoal")
    findings = check_facts_present(section, text, content_type)
    assert findings == [
        CheckFinding(
            "facts_present",
            "error",
            "does not mention colours 'sage'",
            suggestion="mention that the colours include sage",
            field="colours",
        )
    ]


def test_a_missing_brand_says_what_to_mention() -> None:
    section, content_type = plan_section("product_description", "title", **LINEN)
    (finding,) = check_facts_present(section, "Linen Throw Blanket", content_type)
    assert finding.message == "does not mention brand 'Hearth & Loom'"
    assert finding.suggestion == "mention that the brand is Hearth & Loom"
    assert (finding.span_start, finding.span_end) == (None, None)


def test_every_missing_list_item_and_fact_is_reported() -> None:
    section, content_type = plan_section("product_description", "bullets", **LINEN)
    found = missing(section, "- Linen\n- Sage", content_type)
    assert [field for field, _ in found] == [
        "price",
        "currency",
        "materials",
        "colours",
        "colours",
        "dimensions",
        "features",
        "features",
        "features",
    ]


@pytest.mark.parametrize("price", ["$49", "$49.00", "49 USD", "USD 49.00", "49.0 dollars", "$ 49"])
def test_prices_match_with_or_without_cents_and_currency(price: str) -> None:
    section, content_type = plan_section("product_description", "bullets", **LINEN)
    text = LINEN_BULLETS.replace("Only $49", f"Only {price}")
    assert missing(section, text, content_type) == []


@pytest.mark.parametrize("price", ["$149", "$49.50", "4900 USD", "$4.90", "$59"])
def test_other_numbers_are_not_the_price(price: str) -> None:
    section, content_type = plan_section("product_description", "bullets", **LINEN)
    text = LINEN_BULLETS.replace("Only $49", f"Only {price}")
    assert [f for f, _ in missing(section, text, content_type)] == ["price"]


def test_thousands_commas_trailing_zeros_and_currency_words() -> None:
    section, content_type = plan_section("product_description", "bullets", brand="Greenleaf")
    bullets = "- bamboo\n- natural\n- 45 x 30 x 2 cm\n- juice groove, non-slip feet\n"
    for price in ("1,299.50 dollars", "$1299.5", "USD 1,299.50"):
        assert missing(section, bullets + f"- {price}", content_type) == []
    assert [f for f, _ in missing(section, bullets + "- €1,299.50", content_type)] == ["currency"]


def test_accents_and_punctuation_do_not_matter_in_names() -> None:
    section, content_type = plan_section("product_description", "title", brand="Maison Bérard")
    assert missing(section, "MAISON BERARD cafe creme espresso cups, set of 4", content_type) == []
    assert [f for f, _ in missing(section, "Maison Bérard espresso cups", content_type)] == ["name"]


# --- article -----------------------------------------------------------------------------

HERBS = dict(title="How to Start a Balcony Herb Garden")
HERBS_BODY = """## Choosing a spot
Most herbs need six hours of sun, so pick the brightest corner.

## Pots and soil
Use pots with drainage holes.

## Five easy herbs
Basil, mint, parsley, chives and thyme are forgiving.

## Watering and harvesting
Harvest often to keep plants bushy."""


def test_article_intro_and_body_with_every_fact_pass() -> None:
    intro, content_type = plan_section("article", "intro", **HERBS)
    text = "How to start a balcony herb garden? If you are one of the city renters with no gardening experience, read on."
    assert missing(intro, text, content_type) == []
    body, _ = plan_section("article", "body", **HERBS)
    assert missing(body, HERBS_BODY, content_type) == []


def test_article_body_missing_a_heading_and_a_point_fails() -> None:
    body, content_type = plan_section("article", "body", **HERBS)
    text = HERBS_BODY.replace("## Pots and soil\nUse pots with drainage holes.\n\n", "")
    assert missing(body, text, content_type) == [
        ("outline", "does not mention outline 'Pots and soil'"),
        ("key_points", "does not mention key points 'use pots with drainage holes'"),
    ]


@pytest.mark.parametrize(("value", "text", "ok"), [(600, "About 600 words.", True), (1000, "1,000 words", True), (7, "seven tips", True), (7, "7 tips", True), (7, "17 tips", False), (12, "twelve", False)])  # fmt: skip
def test_integers_as_digits_or_small_words(value: int, text: str, ok: bool) -> None:
    body, content_type = plan_section("article", "body", **HERBS)
    section = dataclasses.replace(body, facts={"length": value})
    assert (missing(section, text, content_type) == []) is ok


# --- restaurant --------------------------------------------------------------------------

BROWNS = dict(name="Browns Cambridge")  # coffee shop, English, 5 out of 5, riverside, yes, near
BROWNS_TEXT = (
    "Browns Cambridge is a family-friendly coffee shop serving English food in the riverside "
    "area near Crowne Plaza Hotel, with a customer rating of 5 out of 5."
)


def test_restaurant_text_with_every_fact_passes() -> None:
    section, content_type = plan_section("restaurant", "description", **BROWNS)
    assert missing(section, BROWNS_TEXT, content_type) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("coffee shop", "café"),
        ("coffee shop", "coffee house"),
        ("in the riverside area", "by the river"),
        ("family-friendly", "kid friendly"),
        ("family-friendly", "Family Friendly"),
        ("5 out of 5", "five out of five"),
        ("with a customer rating of 5 out of 5", "rated 5 stars"),
        ("with a customer rating of 5 out of 5", "rated 5 by its customers"),
    ],
)
def test_restaurant_synonyms_pass(old: str, new: str) -> None:
    section, content_type = plan_section("restaurant", "description", **BROWNS)
    assert missing(section, BROWNS_TEXT.replace(old, new), content_type) == []


@pytest.mark.parametrize(
    "negative",
    [
        "not family-friendly",
        "not family friendly",
        "adults only",
        "no children",
        "isn't kid friendly",
    ],
)
def test_family_friendly_phrased_negatively_fails_with_a_span(negative: str) -> None:
    section, content_type = plan_section("restaurant", "description", **BROWNS)
    text = BROWNS_TEXT.replace("is a family-friendly coffee shop", f"is a coffee shop ({negative})")
    (finding,) = check_facts_present(section, text, content_type)
    assert finding.field == "familyFriendly"
    assert finding.message == "says it is not family friendly, but familyFriendly is yes"
    assert finding.span_start is not None and finding.span_end is not None
    assert text[finding.span_start : finding.span_end] in negative


def test_family_friendly_not_mentioned_fails_without_a_span() -> None:
    section, content_type = plan_section("restaurant", "description", **BROWNS)
    (finding,) = check_facts_present(
        section, BROWNS_TEXT.replace("family-friendly ", ""), content_type
    )
    assert finding.field == "familyFriendly" and finding.span_start is None
    assert finding.suggestion == "say that it is family friendly"


ALIMENTUM = dict(name="Alimentum")  # city centre, familyFriendly no


@pytest.mark.parametrize(
    ("text", "fails"),
    [
        ("Alimentum, in the city centre, is not family-friendly.", False),
        ("Alimentum is in the centre of the city; adults only.", False),
        ("Alimentum in the city center: no children.", False),
        ("Alimentum is a family friendly place in the city centre.", True),
        ("Alimentum in the city centre welcomes children.", True),
        ("Alimentum is in the city centre.", True),
    ],
)
def test_not_family_friendly_needs_a_negative_wording(text: str, fails: bool) -> None:
    section, content_type = plan_section("restaurant", "description", **ALIMENTUM)
    assert (missing(section, text, content_type) != []) is fails


def test_a_negation_in_another_clause_does_not_count() -> None:
    section, content_type = plan_section("restaurant", "description", **BROWNS)
    text = BROWNS_TEXT.replace("is a family-friendly", "is not expensive. It is a family-friendly")
    assert missing(section, text, content_type) == []
    text = BROWNS_TEXT.replace("is a family-friendly", "is not cheap but a family-friendly")
    assert missing(section, text, content_type) == []


@pytest.mark.parametrize(
    ("match", "text", "fails"),
    [
        (dict(customer_rating="5 out of 5"), "Browns Cambridge, 4 out of 5", True),
        (dict(customer_rating="5 out of 5"), "Browns Cambridge, 5/5", False),
        (dict(customer_rating="low"), "Fitzbillies has a low customer rating", False),
        (dict(customer_rating="low"), "Fitzbillies is low-rated", False),
        (dict(customer_rating="low"), "Fitzbillies is highly rated", True),
        (dict(customer_rating="average"), "The Eagle has average ratings", False),
        (dict(customer_rating="average"), "The Eagle has average prices", True),
        (dict(customer_rating="high"), "The Eagle is highly rated", False),
        (dict(customer_rating="high"), "The Eagle has high-end prices", True),
    ],
)
def test_customer_ratings(match: dict[str, str], text: str, fails: bool) -> None:
    section, content_type = plan_section("restaurant", "description", **match)
    section = dataclasses.replace(section, facts={"customer_rating": match["customer_rating"]})
    assert (missing(section, text, content_type) != []) is fails


def test_price_ranges_by_value_or_synonym() -> None:
    cheap, content_type = plan_section("restaurant", "description", priceRange="cheap")
    cheap = dataclasses.replace(cheap, facts={"priceRange": "cheap"})
    assert missing(cheap, "An inexpensive pub.", content_type) == []
    assert missing(cheap, "An expensive pub.", content_type) != []
    under, _ = plan_section("restaurant", "description", priceRange="less than £20")
    under = dataclasses.replace(under, facts={"priceRange": "less than £20"})
    assert missing(under, "Meals cost less than £20 here.", content_type) == []
    assert missing(under, "Meals cost more than £20 here.", content_type) != []


def test_a_section_without_facts_has_no_findings() -> None:
    section, content_type = plan_section("restaurant", "description", **BROWNS)
    assert check_facts_present(dataclasses.replace(section, facts={}), "", content_type) == []


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
@settings(max_examples=300, deadline=None)
def test_an_ascii_text_folds_at_once_as_it_folds_a_character_at_a_time(text: str) -> None:
    assert _Folded.of(text) == _Folded.folded_each(text)


def test_folding_keeps_each_folded_characters_offset_in_the_original() -> None:
    for text in ["The Eagle\tis CHEAP", "Café  Rouge\n\n- £20\u201325", "A\x1cB"]:
        folded = _Folded.of(text)
        assert folded == _Folded.folded_each(text)
        assert len(folded.offsets) == len(folded.text)
    assert _Folded.of("The  Eagle").text == "the eagle"
    assert _Folded.of("Café\u2013Bar").text == "cafe-bar"
