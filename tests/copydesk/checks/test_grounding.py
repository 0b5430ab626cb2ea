"""The grounding, subject and claims checks, one behaviour at a time (the corpus test
measures them together)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from copydesk.checks.claims import _claims, check_claims
from copydesk.checks.consistency import _Folded
from copydesk.checks.grounding import check_grounding
from copydesk.checks.grounding_support import stem
from copydesk.checks.subject import _ESTABLISHMENT, _establishments, check_subject
from copydesk.content.types import ClaimsSpec, ContentType, GroundingSpec, load_content_type
from copydesk.inputs.records import validate_record
from copydesk.pipeline.refine import instructions

PUB = "name[Blue Spice], eatType[pub], area[city centre]"
EAGLE = (
    "name[The Eagle], eatType[coffee shop], food[Chinese], priceRange[cheap], "
    "customer rating[5 out of 5], area[riverside], familyFriendly[no], near[Burger King]"
)
BOTTLE = {
    "name": "Stainless Steel Water Bottle 750 ml",
    "brand": "Trailhead",
    "price": "24.95",
    "currency": "USD",
    "dimensions": "26 x 7.5 cm",
    "features": ["keeps drinks cold for 24 hours", "leak-proof lid"],
}


def restaurant(mr: str) -> tuple[ContentType, dict[str, Any]]:
    kind = load_content_type("restaurant")
    return kind, validate_record({"mr": mr}, kind).record  # type: ignore[union-attr]


def said(findings: list[Any], text: str) -> list[str]:
    return [text[f.span_start : f.span_end] for f in findings]


def test_an_invented_town_is_named_and_told_to_the_next_attempt() -> None:
    kind, record = restaurant(PUB)
    text = "Blue Spice is a pub in Liverpool's vibrant city centre."
    findings = check_grounding(text, kind, record)
    assert said(findings, text) == ["Liverpool's"]
    assert findings[0].severity == "error" and findings[0].check == "grounding"
    assert 'do not mention "Liverpool\'s"; the input gives no such town or place' in instructions(
        findings
    )


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("The Eagle is on the corner of 25th Street by the riverside.", "25th Street"),
        ("The Eagle, by the riverside, seats 40.", "40"),
        ("The Eagle by the riverside opens at 11pm.", "11pm"),
        ("The Eagle sits by the riverside, just off the high street.", "street"),
        ("The Eagle is by the riverside in Red Rock.", "Red Rock"),
        ("The Eagle, by the riverside, opened in May.", "May"),
        ("The Eagle pours Guinness by the riverside.", "Guinness"),
        ("The Eagle has pints by the riverside for £5.", "£5"),  # 5 is the rating's
        ("The Eagle is busiest by the riverside in summer.", "summer"),
    ],
)
def test_what_the_record_does_not_give_is_flagged(text: str, invented: str) -> None:
    kind, record = restaurant(EAGLE)
    assert any(
        invented in s or s in invented for s in said(check_grounding(text, kind, record), text)
    )


@pytest.mark.parametrize(
    "text",
    [
        "The Eagle is a cheap Chinese coffee shop by the riverside near Burger King.",
        "Rated 5 out of 5, The Eagle serves Chinese food for less than £20. Not for families.",
        "Located in the Riverside area near Burger King, The Eagle Coffee Shop is Cheap.",
        "The Eagle has five stars and costs under twenty pounds; it is near the Burger King.",
        "The Eagle is a coffee shop near Crown Plaza Hotel.".replace(
            "Crown Plaza Hotel", "Burger King"
        ),
        "Sadly, The Eagle is not kid friendly. Families should go elsewhere.",
    ],
)
def test_what_the_record_or_vocabulary_gives_passes(text: str) -> None:
    kind, record = restaurant(EAGLE)
    assert check_grounding(text, kind, record) == []


def test_numbers_count_as_what_the_text_says_they_are() -> None:
    kind = load_content_type("product_description")
    ok = "Keeps drinks cold for 24 hours; 26 cm tall, 750 ml, $24.95."
    assert check_grounding(ok, kind, BOTTLE) == []
    bad = "Weighs 7.5 kg and is the 2nd bottle."
    assert said(check_grounding(bad, kind, BOTTLE), bad) == ["7.5", "2nd"]
    # A price the record does not give is no_invented_values' to report, not grounding's.
    assert check_grounding("Only $26.", kind, BOTTLE) == []
    # Looser than it could be: a number and a unit of the record, though never together.
    assert check_grounding("Holds 26 ml.", kind, BOTTLE) == []


def test_the_manifest_allowlist_supports_names_and_numbers() -> None:
    kind = load_content_type("product_description")
    text = "Trailhead bottles are BPA-free and come with a 2 year warranty."
    assert said(check_grounding(text, kind, BOTTLE), text) == ["BPA", "2"]
    allowing = kind.model_copy(update={"grounding": GroundingSpec(allow=["BPA", "2 year"])})
    assert check_grounding(text, allowing, BOTTLE) == []


def test_stems_are_shared_by_a_words_forms() -> None:
    assert stem("rated") == stem("rate") == stem("rating") == stem("rates")
    assert stem("prices") == stem("price") and stem("pounds") == stem("pound")


def test_another_establishment_does_not_take_the_subjects_place() -> None:
    kind, record = restaurant(EAGLE)
    for text, other in [
        ("Burger King is a cheap coffee shop by the riverside near The Eagle.", "Burger King"),
        ("A coffee shop called The Punter is by the riverside.", "The Punter"),
        ("Dinner at the Redhouse Pub, then coffee at The Eagle.", "the Redhouse"),
        ("Zizzi and The Eagle are by the riverside.", "Zizzi"),
    ]:
        findings = check_subject(text, kind, record)
        assert said(findings, text) == [other], text
        assert findings[0].suggestion == f"write about 'The Eagle' only, not {other!r}"
    for text in [
        "The Eagle is a coffee shop near the Burger King restaurant.",
        "Near Burger King is a Chinese coffee shop called the Eagle.",
        "The Eagle coffee shop is a cheap Chinese place.",
    ]:
        assert check_subject(text, kind, record) == [], text
    product = load_content_type("product_description")
    for text in [
        "The Trailhead Stainless Steel Water Bottle is a bottle that keeps drinks cold.",
        "Trailhead's Water Bottle 750 ml is a stainless steel bottle.",
    ]:
        assert check_subject(text, product, BOTTLE) == [], text
    text = "The Aurora Flask is a bottle from Trailhead."
    assert said(check_subject(text, product, BOTTLE), text) == ["The Aurora Flask"]


_NAME_PIECES = [
    "The", "Redhouse", "Pub", "pub", "PUB", "Rosie's", "café", "Café", "CAFE", "Coffee",
    "coffee", "Shop", "house", "inn", "Inn", "bar", "Bars", "_", " ", " ", " ", "\n", ".",
    "Hotel", "hotel", "is", "a", "Crown", "Plaza",
]  # fmt: skip


@given(st.lists(st.sampled_from(_NAME_PIECES), max_size=16).map("".join))
@example("Rosie's Café and the Redhouse Pub, near the Crown Plaza Hotel")
@settings(max_examples=300, deadline=None)
def test_establishments_are_looked_for_only_in_texts_with_a_place_word(text: str) -> None:
    expected = [m.span() for m in _ESTABLISHMENT.finditer(text)]
    assert [m.span() for m in _establishments(text)] == expected


def test_claims_are_flagged_unless_negated_or_supported() -> None:
    kind, record = restaurant(EAGLE)
    text = "The Eagle, the finest and most popular coffee shop, is renowned and award-winning."
    findings = check_claims(text, kind, record)
    assert said(findings, text) == ["finest", "most popular", "renowned", "award-winning"]
    assert {f.severity for f in findings} == {"error"}  # the restaurant manifest's choice
    assert check_claims("It is not the cheapest, but it is top rated.", kind, record) == []
    product = load_content_type("product_description")
    award = {**BOTTLE, "features": ["award-winning design"]}
    assert check_claims("An award-winning design.", product, award) == []


def test_claims_severity_and_phrases_come_from_the_manifest() -> None:
    kind, record = restaurant(EAGLE)
    spec = ClaimsSpec(phrases=["hidden gem"], allow=["famous"])
    custom = kind.model_copy(update={"claims": spec, "language": "en-US"})
    text = "A famous hidden gem, everyone's favorite and favourite."
    findings = check_claims(text, custom, record)
    assert said(findings, text) == ["hidden gem", "favorite"]  # en-US: not "favourite"
    assert {f.severity for f in findings} == {"warning"}  # the default


_CLAIM_PIECES = [
    "the", "most", "famous", "world", "'s", "best", "selling", "no", ". ", "1", "#", "%",
    "100", "finest", "forest", "rest", "in", "town", "loved", "by", "locals", "award",
    "winning", "_", "4", "est", " ", " ", " ", "-", ",", "hidden", "gem", "one", "of", "a",
    "greatest", "hits", "food",
    "kind", "clinically", "proven", "everyone",
]  # fmt: skip


@cache
def _claim_scans() -> list[Any]:
    kind, _ = restaurant(EAGLE)
    custom = kind.model_copy(
        update={"claims": ClaimsSpec(phrases=["hidden gem", "% off", "greatest hits"])}
    )
    return [_claims(k) for k in (kind, custom, load_content_type("product_description"))]


@given(st.lists(st.sampled_from(_CLAIM_PIECES), max_size=24).map("".join))
@example("the world's most famous pub, rosie's most loved, the most loved, a best-seller")
@example("no. 1 in town, #1, 100% off, 4best, _best, finest_rest, one-of-a-kind")
@example("the greatest food, not its greatest hits")  # a phrase's first word, a superlative
@settings(max_examples=400, deadline=None)
def test_claims_are_looked_for_only_where_one_can_start(text: str) -> None:
    """`_Claims.matches` tries the pattern at each word a claim can start with: it finds
    what the pattern finds on the whole text, no more, no less."""
    folded = _Folded.of(text).text
    for claims in _claim_scans():
        expected = [m.span() for m in claims.pattern.finditer(folded)]
        assert [m.span() for m in claims.matches(folded)] == expected


def test_claims_are_found_where_they_start_with_a_sign_or_a_possessive() -> None:
    kind, record = restaurant(EAGLE)
    text = "The world's most famous #1 pub, 100% loved by locals, is the city's most popular."
    found = said(check_claims(text, kind, record), text)
    assert found == [
        "The world's",
        "most famous",
        "#1",
        "100%",
        "loved by",
        "locals",
        "'s most popular",
    ]


def test_a_manifest_refuses_an_unknown_claims_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        ClaimsSpec(severity="fatal")  # type: ignore[arg-type]
