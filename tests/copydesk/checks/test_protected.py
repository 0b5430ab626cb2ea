"""Where protected names occur: the same places as one search per string would mark."""

from __future__ import annotations

import random
import re

import pytest

from copydesk.checks.protected import WORD, Span, _patterns, protected_spans

COMMON = {"the", "and", "for", "with", "from", "our", "its", "not", "but", "are", "was"}


def searched_one_by_one(text: str, protected: list[str]) -> list[Span]:
    """Each string and its words of 3 letters or more, searched for one at a time."""
    strings = set()
    for value in protected:
        words = WORD.findall(value)
        if words:
            strings.add(value.strip())
        strings |= {w for w in words if len(w) >= 3 and w.lower() not in COMMON}
    return [
        match.span()
        for string in strings
        for match in re.finditer(rf"(?<!\w){re.escape(string)}(?!\w)", text, re.IGNORECASE)
    ]


def assert_same_overlaps(text: str, protected: list[str]) -> None:
    """Every span of the text, empty ones too, overlaps the protected places or not alike."""
    spans, expected = protected_spans(text, protected), searched_one_by_one(text, protected)
    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            overlaps = any(start < e and s < end for s, e in expected)
            assert spans.overlaps((start, end)) == overlaps, (text, protected, start, end)


@pytest.mark.parametrize(
    ("protected", "text"),
    [
        (["Walla Walla"], "Walla Walla Walla is a town. walla walla WALLA!"),
        (["Le Le"], "Le Le Le Le."),
        (["Café Rouge", "Rouge"], "café rouge, CAFÉ ROUGE and Rouge-et-Noir, rouges"),
        (
            ["The Eagle", "Eagle Eye", "Golden Eagle Eye"],
            "The Golden Eagle Eye sees the eagle eye.",
        ),
        (["New York", "York Minster", "New"], "New York Minster; NewYork; new-york minster"),
        (["aa aa", "a_b", "aa"], "aa aa aa aa a_b a_bc aa_aa"),
        (["St. John's", "O'Neill"], "St. John's and O'Neill's, st. johns, O\u2019Neill"),
        (["The Wrestlers", "  "], "The Wrestlers; the wrestlers; The pub."),
        ([], "Nothing is protected here."),
        # Letters re's IGNORECASE takes for ASCII ones: the Kelvin sign, long s, dotless i.
        (["Kite", "Sushi Bar", "Ivy"], "\u212aite, \u017fushi bar, \u0131vy, \u0130vy; Kite ivy"),
        (["Ivy"], "\u0130vy\u0130vy ivy"),  # "\u0130" lower-cases to two characters
    ],
)
def test_protected_places_are_those_of_one_search_per_string(
    protected: list[str], text: str
) -> None:
    assert_same_overlaps(text, protected)


def test_a_string_is_found_as_a_search_for_it_finds_it() -> None:
    # A search for "Le Le" takes "Le Le" twice from "Le Le Le Le": the space between is not
    # inside a name, though "Le Le" also occurs around it.
    spans = protected_spans("Le Le Le Le.", ["Le Le"])
    assert spans.overlaps((0, 1)) and spans.overlaps((9, 11))
    assert not spans.overlaps((5, 6))


def test_a_text_without_odd_letters_is_scanned_without_a_pattern() -> None:
    protected = ["Browns Cambridge", "Loch Fyne"]
    assert_same_overlaps("browns cambridge faces LOCH FYNE; Fyne-ish Browns.", protected)
    together, alone = _patterns(tuple(protected))
    assert together is not None and alone == ()
    assert "pattern" not in vars(together)  # no per-record pattern was compiled
    assert_same_overlaps("\u212aoch Fyne and browns cambridge", protected)
    assert "pattern" in vars(together)


def test_random_names_and_texts() -> None:
    pieces = ["Walla", "walla", "Le", "le", "Eagle", "eagle", "Café", "Rouge", "aa", "x", "\u212a"]
    seps = [" ", " ", "-", ", ", "_", "'", ""]
    generator = random.Random(7)

    def phrase(words: int) -> str:
        parts = [generator.choice(pieces) for _ in range(words)]
        return "".join(p + generator.choice(seps) for p in parts).strip(" -,_'")

    for _ in range(150):
        protected = [phrase(generator.randint(1, 3)) for _ in range(generator.randint(1, 3))]
        assert_same_overlaps(phrase(generator.randint(3, 9)), protected)
