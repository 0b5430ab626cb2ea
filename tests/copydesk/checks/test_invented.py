from __future__ import annotations

import csv
import dataclasses
from typing import Any

import pytest

from copydesk.checks.consistency import check_facts
from copydesk.checks.invented import check_no_invented_values, find_mentions
from copydesk.checks.money import find_money
from copydesk.content.outline import SectionPlan, render_plan
from copydesk.content.types import ContentType, FieldSpec, load_content_type
from copydesk.inputs.records import ValidatedRecord, parse_mr, validate_record
from tests.support.e2e import DEVSET


def restaurant(mr: str) -> tuple[dict[str, Any], ContentType]:
    content_type = load_content_type("restaurant")
    result = validate_record({"mr": mr}, content_type)
    assert isinstance(result, ValidatedRecord), result
    return result.record, content_type


def section_of(record: dict[str, Any], content_type: ContentType, name: str) -> SectionPlan:
    plan = render_plan(content_type, record)
    return next(section for section in plan.sections if section.name == name)


def invented(mr: str, text: str) -> list[tuple[str | None, str]]:
    """(field, words of the text) of each finding, after checking their common shape."""
    record, content_type = restaurant(mr)
    section = section_of(record, content_type, "description")
    findings = check_no_invented_values(section, text, content_type, record)
    for finding in findings:
        assert (finding.check, finding.severity) == ("no_invented_values", "error")
        assert finding.suggestion and finding.span_start is not None
    return [(f.field, text[f.span_start : f.span_end]) for f in findings]


EAGLE = (
    "name[The Eagle], eatType[pub], food[English], priceRange[£20-25], "
    "customer rating[1 out of 5], area[riverside], familyFriendly[yes], near[Burger King]"
)
EAGLE_TEXT = (
    "The Eagle is a family-friendly pub by the river near Burger King. It serves English "
    "food for £20-25 and has a customer rating of 1 out of 5."
)
BARE = "name[The Eagle], eatType[pub], area[riverside]"  # no food, price, rating, near...


def test_a_faithful_text_has_no_findings() -> None:
    assert invented(EAGLE, EAGLE_TEXT) == []


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("pub", "coffee shop", "eatType"),
        ("pub", "café", "eatType"),
        ("by the river", "in the city centre", "area"),
        ("English", "Italian", "food"),
        ("£20-25", "less than £20", "priceRange"),
        ("for £20-25", "cheaply", "priceRange"),
        ("for £20-25", "at high prices", "priceRange"),
        ("£20-25", "more than thirty pounds", "priceRange"),
        ("£20-25", "$20-25", "priceRange"),  # the right amount in the wrong currency
        ("1 out of 5", "5 out of 5", "customer_rating"),
        ("a customer rating of 1 out of 5", "a high customer rating", "customer_rating"),
        ("a customer rating of 1 out of 5", "five stars", "customer_rating"),
        ("family-friendly", "adults-only", "familyFriendly"),
        ("near Burger King", "near Café Rouge", "near"),
    ],
)
def test_a_different_value_is_wrong(old: str, new: str, field: str) -> None:
    text = EAGLE_TEXT.replace(old, new)
    found = invented(EAGLE, text)
    assert [f for f, _ in found] == [field], found
    assert found[0][1] in new or new in found[0][1]


def test_not_family_friendly_when_it_is() -> None:
    text = EAGLE_TEXT.replace("a family-friendly pub", "a pub (not family-friendly)")
    assert invented(EAGLE, text) == [("familyFriendly", "not family-friendly")]
    no = EAGLE.replace("familyFriendly[yes]", "familyFriendly[no]")
    assert invented(no, text) == []
    assert invented(no, EAGLE_TEXT) == [("familyFriendly", "family-friendly")]


@pytest.mark.parametrize(
    ("text", "field", "said"),
    [
        ("The Eagle is a pub by the river serving Italian food.", "food", "Italian"),
        ("The Eagle, a riverside pub, does fast food.", "food", "fast food"),
        ("The Eagle is a riverside pub near Burger King.", "near", "Burger King"),
        ("The Eagle is a riverside pub near the Grand Arcade.", "near", "the Grand Arcade"),
        ("The Eagle is a cheap riverside pub.", "priceRange", "cheap"),
        (
            "The Eagle is a riverside pub; mains about twenty pounds.",
            "priceRange",
            "about twenty pounds",
        ),
        ("The Eagle is a highly rated riverside pub.", "customer_rating", "highly rated"),
        ("The Eagle is a kid friendly riverside pub.", "familyFriendly", "kid friendly"),
    ],
)
def test_a_value_the_record_lacks_is_added(text: str, field: str, said: str) -> None:
    assert invented(BARE, text) == [(field, said)]


def test_finding_messages_and_suggestions() -> None:
    record, content_type = restaurant(EAGLE)
    section = section_of(record, content_type, "description")
    text = EAGLE_TEXT.replace("for £20-25", "at cheap prices")
    (finding,) = check_no_invented_values(section, text, content_type, record)
    assert finding.message == "says price range 'cheap', but the price range is £20-25"
    assert finding.suggestion == "the price range is £20-25, not cheap"
    assert (finding.span_start, finding.span_end) == (text.index("cheap"), text.index("cheap") + 5)
    record, _ = restaurant(BARE)
    text = "The Eagle is a pub by the river serving Italian food."
    (finding,) = check_no_invented_values(section, text, content_type, record)
    assert finding.message == "mentions food 'Italian', which the input does not give"
    assert finding.suggestion == "do not mention food 'Italian'; the input gives none"


# --- overlaps that are not other values ---------------------------------------------------


@pytest.mark.parametrize(
    ("mr", "text"),
    [
        # a price level and a rating level share a word
        (
            "name[Zizzi], priceRange[high], customer rating[5 out of 5]",
            "Zizzi has high prices and a high customer rating.",
        ),
        (
            "name[Zizzi], priceRange[high], customer rating[1 out of 5]",
            "Zizzi is highly priced, with a low customer rating.",
        ),
        (
            "name[Zizzi], priceRange[cheap], customer rating[high]",
            "Zizzi is cheap and its customer rating is high.",
        ),
        (
            "name[Zizzi], priceRange[moderate], customer rating[average]",
            "Zizzi has average customer ratings and moderate prices.",
        ),
        (
            "name[Zizzi], priceRange[moderate], customer rating[5 out of 5]",
            "Zizzi has average prices and five stars.",
        ),
        (
            "name[Zizzi], priceRange[cheap], customer rating[average]",
            "Zizzi has a moderate customer rating and low prices.",
        ),
        # ranges and levels that agree
        ("name[Zizzi], priceRange[less than £20]", "Zizzi is cheap: under twenty pounds a head."),
        ("name[Zizzi], priceRange[cheap]", "Zizzi costs less than £20."),
        ("name[Zizzi], priceRange[£20-25]", "Zizzi costs twenty to twenty-five pounds."),
        ("name[Zizzi], priceRange[£20-25]", "Zizzi costs about twenty pounds, a moderate price."),
        ("name[Zizzi], priceRange[more than £30]", "Zizzi is expensive, £30 or more."),
        ("name[Zizzi], customer rating[low]", "Zizzi is rated 1 out of 5."),
        ("name[Zizzi], customer rating[5 out of 5]", "Zizzi is highly rated: 5 out of 5 stars."),
        # names holding food words, eat types or other values
        ("name[The Rice Boat], food[English]", "The Rice Boat serves English food."),
        ("name[The Italian Job], food[English]", "The Italian Job serves English food."),
        ("name[Café Rouge], eatType[pub]", "Café Rouge is a pub."),
        ("name[Loch Fyne], food[Japanese]", "Loch Fyne serves Japanese food."),
        ("name[The Cambridge Blue], eatType[pub]", "The Cambridge Blue is a pub."),
        ("name[Cotto], eatType[pub], near[Café Brazil]", "Cotto is a pub near Café Brazil."),
        (
            "name[Cotto], food[English], near[Raja Indian Cuisine]",
            "Cotto serves English food near Raja Indian Cuisine.",
        ),
        ("name[Cotto], area[riverside]", "Cotto is near the River, outside the city centre."),
        ("name[Cotto], food[Fast food]", "Cotto does not serve Italian food, only fast food."),
        # `restaurant` is what every item is
        ("name[Cotto], eatType[coffee shop]", "Cotto is a coffee shop and restaurant."),
        ("name[Cotto], area[riverside]", "Cotto is a restaurant by the river."),
        ("name[Cotto], familyFriendly[no]", "Cotto is not family-friendly: adults only."),
    ],
)
def test_overlapping_wordings_pass(mr: str, text: str) -> None:
    assert invented(mr, text) == []


@pytest.mark.parametrize(
    ("mr", "text", "expected"),
    [
        (
            "name[Zizzi], priceRange[high], customer rating[1 out of 5]",
            "Zizzi has a high customer rating.",
            [("customer_rating", "high customer rating")],
        ),
        (
            "name[Zizzi], priceRange[cheap], customer rating[high]",
            "Zizzi has high prices.",
            [("priceRange", "high prices")],
        ),
        (
            "name[Zizzi], priceRange[cheap], customer rating[high]",
            "Zizzi has average prices.",
            [("priceRange", "average prices")],
        ),
        (
            "name[Zizzi], priceRange[moderate], customer rating[5 out of 5]",
            "Zizzi has an average rating.",
            [("customer_rating", "average rating")],
        ),
        (
            "name[Zizzi], priceRange[less than £20]",
            "Zizzi costs twenty to twenty-five pounds.",
            [("priceRange", "twenty to twenty-five pounds")],
        ),
        (
            "name[Zizzi], priceRange[cheap]",
            "Zizzi costs more than £30.",
            [("priceRange", "more than £30")],
        ),
        (
            "name[Cotto], eatType[coffee shop]",
            "Cotto is a restaurant.",
            [("eatType", "restaurant")],
        ),
        ("name[Cotto], area[riverside]", "Cotto is a pub by the river.", [("eatType", "pub")]),
    ],
)
def test_level_words_go_to_the_field_their_cue_names(
    mr: str, text: str, expected: list[tuple[str, str]]
) -> None:
    assert invented(mr, text) == expected


def test_mentions_say_what_fits() -> None:
    record, content_type = restaurant(EAGLE)
    mentions = find_mentions(EAGLE_TEXT, content_type, record)
    assert all(m.fits for m in mentions)
    said = [EAGLE_TEXT[m.start : m.end] for m in mentions]
    assert said == [
        "The Eagle",
        "family-friendly",
        "pub",
        "by the river",
        "Burger King",
        "English",
        "£20-25",
        "rating of 1 out of 5",
    ]


# --- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high", "currency"),
    [
        ("£20-25", 20, 25, "GBP"),
        ("twenty to twenty-five pounds", 20, 25, "GBP"),
        ("between £20 and £25", 20, 25, "GBP"),
        ("less than £20", 0, 19.99, "GBP"),
        ("under twenty quid", 0, 19.99, "GBP"),
        ("up to $20", 0, 20, "USD"),
        ("more than thirty dollars", 30.01, float("inf"), "USD"),
        ("from £30 and up", 30, float("inf"), "GBP"),
        ("€30+", 30, float("inf"), "EUR"),
        ("about twenty pounds", 18, 22, "GBP"),
        ("USD 1,299.50", 1299.5, 1299.5, "USD"),
    ],
)
def test_amounts_of_money_read_as_ranges(text: str, low: float, high: float, currency: str) -> None:
    (money,) = find_money(text.casefold())
    assert (money.low, money.high, money.currency) == (
        pytest.approx(low),
        high if high == float("inf") else pytest.approx(high),
        currency,
    )
    assert (money.start, money.end) == (0, len(text))


@pytest.mark.parametrize(
    "text", ["5 out of 5", "130 x 170 cm", "20-25", "one of twenty", "24 hours"]
)
def test_numbers_without_a_currency_are_not_money(text: str) -> None:
    assert find_money(text) == []


@pytest.mark.parametrize(
    ("value", "text", "stated"),
    [
        ("£20-25", "twenty to twenty-five pounds", True),
        ("£20-25", "about twenty pounds", True),
        ("£20-25", "between £20 and £25", True),
        ("£20-25", "less than twenty pounds", False),
        ("less than £20", "under £15", True),
        ("less than £20", "cheap", True),
        ("cheap", "less than 20 pounds", True),
        ("more than £30", "£40 a head", True),
        ("more than £30", "£20", False),
    ],
)
def test_the_fact_check_reads_prices_in_words(value: str, text: str, stated: bool) -> None:
    content_type = load_content_type("restaurant")
    findings = check_facts({"priceRange": value}, f"Zizzi: {text}.", content_type)
    assert (findings == []) is stated


# --- product_description --------------------------------------------------------------------

LINEN_BULLETS = (
    "- Stonewashed for softness and machine-washable, with fringed edges\n"
    "- Woven from linen & cotton\n"
    "- Comes in oatmeal, sage or charcoal\n"
    "- Measures 130 x 170 cm\n"
    "- Only $49"
)


def product(name: str) -> tuple[dict[str, Any], ContentType, SectionPlan]:
    content_type = load_content_type("product_description")
    with (content_type.folder / "samples" / "products.csv").open(encoding="utf-8") as handle:
        row = next(row for row in csv.DictReader(handle) if row["name"] == name)
    result = validate_record(row, content_type)
    assert isinstance(result, ValidatedRecord), result
    return result.record, content_type, section_of(result.record, content_type, "bullets")


def product_findings(name: str, text: str) -> list[tuple[str | None, str]]:
    record, content_type, section = product(name)
    findings = check_no_invented_values(section, text, content_type, record)
    return [(f.field, text[f.span_start : f.span_end]) for f in findings]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Only $49", "Only $49.00, in natural fibres", []),
        ("Only $49", "Only 49 USD", []),
        ("Only $49", "Only forty-nine dollars", []),
        ("Only $49", "Only $59", [("price", "$59")]),
        ("Only $49", "Only $49 (was $69)", [("price", "$69")]),
        ("Only $49", "Only €49", [("currency", "€49")]),
        ("oatmeal, sage or charcoal", "oatmeal, sage, charcoal or red", [("colours", "red")]),
        ("linen & cotton", "linen & silk", [("materials", "silk")]),
    ],
)
def test_product_prices_colours_and_materials(
    old: str, new: str, expected: list[tuple[str, str]]
) -> None:
    text = LINEN_BULLETS.replace(old, new)
    assert product_findings("Linen Throw Blanket", text) == expected


def test_a_shorter_wording_of_a_list_item_and_spelling_variants_fit() -> None:
    text = "The Stainless Steel Water Bottle 750 ml: steel and silicone, in black, white or green."
    assert product_findings("Stainless Steel Water Bottle 750 ml", text) == []
    text = "Aluminum and glass, in silver or space gray. $29.99."
    assert product_findings("Wireless Charging Pad", text) == []


# --- the manifests' vocabularies --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["string", "list", "enum"])
def test_known_values_are_an_option_of_string_list_and_enum_fields(kind: str) -> None:
    values = {"values": ["a", "b"]} if kind == "enum" else {}
    spec = FieldSpec(type=kind, known_values=["x", "y"], **values)  # type: ignore[arg-type]
    assert spec.known_values == ["x", "y"]
    if kind == "string":
        assert spec.parse("z") == "z"  # vocabulary for the checks, never a constraint on input


@pytest.mark.parametrize("kind", ["integer", "decimal", "boolean", "text"])
def test_known_values_do_not_apply_to_other_types(kind: str) -> None:
    with pytest.raises(ValueError, match="option 'known_values' does not apply"):
        FieldSpec(type=kind, known_values=["x"])  # type: ignore[arg-type]


def test_the_restaurant_vocabulary_covers_every_devset_value() -> None:
    if not DEVSET.is_file():
        pytest.skip(f"the E2E dev set is not at {DEVSET}")
    content_type = load_content_type("restaurant")
    with DEVSET.open(encoding="utf-8") as handle:
        mrs = {row["mr"] for row in csv.DictReader(handle)}
    for mr in mrs:
        for key, value in parse_mr(mr).items():
            spec = content_type.fields[content_type.key_to_field[key.casefold()]]
            vocabulary = {*(spec.values or []), *spec.known_values}
            assert spec.type == "boolean" or value in vocabulary, (key, value)


def test_a_section_is_checked_against_the_whole_record() -> None:
    record, content_type, bullets = product("Linen Throw Blanket")
    title = dataclasses.replace(bullets, facts={"name": record["name"]})
    findings = check_no_invented_values(title, "Linen Throw Blanket, $99", content_type, record)
    assert [f.field for f in findings] == ["price"]
