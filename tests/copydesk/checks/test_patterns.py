"""Compiled patterns with their anchors, and values kept per object."""

from __future__ import annotations

import re

import pytest

from copydesk.checks import patterns
from copydesk.checks.consistency import _fold, _wordings
from copydesk.checks.invented import _vocabulary
from copydesk.checks.patterns import Anchored, anchor, per_object
from copydesk.content.types import load_content_type


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"(?<![^\W_])stainless[\W_]*steel(?:s|es|ly)?(?![^\W_])", "stainless"),
        (r"(?<![^\W_])high(?:ly)?(?![^\W_])(?![\s-]*(?:pric|cost|end))", "high"),
        (r"(?![)])xyz", "xyz"),  # a `)` in a class does not close the lookaround
        (r"(?<=(?:a|b))cd", "cd"),
        ("caf\u00e9 rouge", "caf\u00e9"),
        (r"ab?c", "a"),  # "b" may be left out
        (r"ab{0,1}", "a"),
        (r"ab*", "a"),
        (r"a\|b", "a"),
        (r"x(y|z)", "x"),
        (r"abc|def", None),  # either
        (r"[]|]abc", None),  # a class first
        (r"(?<![^\W_])(?:1|one)", None),
        (r"(?i)abc", None),  # flags
        (r"(?=x)?abc", None),
        (r"\$", None),
        (r"_abc", None),
        ("", None),
    ],
)
def test_anchors(pattern: str, expected: str | None) -> None:
    assert anchor(pattern) == expected
    re.compile(pattern)  # each is a valid pattern


TEXTS = [
    "The Eagle is a cheap, family-friendly coffee shop by the river, rated 5 out of 5.",
    "Not expensive: less than £20. Highly rated by customers; a high-end café, five stars.",
    "A stainless steel and merino wool blanket in grey, gray and navy; 49.00 USD, $12.50.",
    "Moderately priced Italian food in the city centre near Café Rouge, 3/5, rating of 3.",
]


@pytest.mark.parametrize("kind", ["restaurant", "product_description", "article"])
def test_anchored_patterns_match_as_the_patterns_do(kind: str) -> None:
    content_type = load_content_type(kind)
    for field, spec in content_type.fields.items():
        for word in _vocabulary(spec):
            for pattern in _wordings(field, spec, word):
                anchored = Anchored.of(pattern)
                for text in map(_fold, TEXTS):
                    expected = [m.span() for m in re.finditer(pattern, text)]
                    assert [m.span() for m in anchored.finditer(text)] == expected
                    assert bool(anchored.search(text)) == bool(expected)


def test_per_object_builds_once_per_object() -> None:
    built: list[list[str]] = []

    @per_object
    def joined(words: list[str]) -> str:
        built.append(words)
        return " ".join(words)

    one, same = ["a", "b"], ["a", "b"]
    assert joined(one) == joined(one) == joined(same) == "a b"
    assert built == [one, same] and built[0] is one and built[1] is same


def test_per_object_keeps_the_latest_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "PER_OBJECT_SIZE", 1)
    built: list[list[str]] = []

    @per_object
    def joined(words: list[str]) -> str:
        built.append(words)
        return " ".join(words)

    one, two = ["a"], ["b"]
    assert [joined(one), joined(two), joined(two), joined(one)] == ["a", "b", "b", "a"]
    assert built == [one, two, one]  # `two` pushed `one` out
