"""Subject: the section describes the record's subject (its `name`, or `title`), and no
other establishment or product takes its place. An error for each of:
- "called X", "named X", "known as X" where X is not the subject's name;
- X at the start of a sentence followed by "is a/an ..." (what a description says of its
  subject), where X is a name and not the subject's;
- X followed by an establishment or product word ("the Redhouse Pub", "Rosie's café")
  where X is a name and no value of the record;
- another value of the subject field's vocabulary (`known_values`: another restaurant of
  the list) anywhere.
A name here is a capitalised run of words that the vocabulary of other fields does not
account for ("Italian restaurant", "City Centre pub" are no names)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from copydesk.checks.consistency import _fold
from copydesk.checks.findings import CheckFinding
from copydesk.checks.grounding_support import _one_edit, type_words
from copydesk.checks.lexicon import STOP
from copydesk.checks.patterns import per_object
from copydesk.content.types import ContentType
from copydesk.inputs.records import record_strings

CHECK = "subject"
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_NAME = r"(?:[Tt]he\s+)?[A-Z][\w'\u2019-]*(?:\s+(?:of|de|&|and|the)?\s*[A-Z][\w'\u2019-]*)*"
_CALLED = re.compile(rf"\b(?:called|named|known\s+as|by\s+the\s+name\s+of)\s+\W?({_NAME})")
_DESCRIBED = re.compile(
    rf"(?:^|[.!?;]\s+|\n[-*\s]*)\W?({_NAME})(?:,[^,.]*,)?\s+(?:is|was|remains)\s+(?:a|an|one)\b"
)
# What an establishment is called after its name: "the Redhouse Pub".
_PLACES = [
    "pub", "inn", "bar", "cafe", "café", "restaurant", "bistro", "brasserie", "tavern",
    "diner", "grill", "kitchen", "hotel", "coffee_shop", "coffee_house", "eatery",
    "canteen", "trattoria", "pizzeria", "steakhouse", "takeaway", "bakery",
]  # fmt: skip
_PLACE_WORD = "|".join(place.replace("_", r"\s+") for place in _PLACES)
# Their first words, for an ASCII text in lower case: a text with none of them names no
# establishment, and `_ESTABLISHMENT` need not run.
_PLACE_FIRST = frozenset(place.split("_")[0] for place in _PLACES if place.isascii())
_PREPOSITIONS = frozenset(
    ["near", "by", "in", "at", "on", "beside", "opposite", "close", "next", "from", "with", "for"]
)
_NEARBY = re.compile(
    r"(?i:\b(?:near|near\s+to|close\s+to|next\s+to|by|beside|opposite|from)\s+(?:the\s+)?)$"
)
_LETTERS = re.compile(r"[^\W_]+")
_ESTABLISHMENT = re.compile(rf"({_NAME})\s+(?i:{_PLACE_WORD})\b")


def _establishments(text: str) -> Iterator[re.Match[str]]:
    """`_ESTABLISHMENT.finditer(text)`, skipped for an ASCII text with no place word."""
    if text.isascii() and _PLACE_FIRST.isdisjoint(_LETTERS.findall(text.lower())):
        return iter(())
    return _ESTABLISHMENT.finditer(text)


def _subject_field(content_type: ContentType) -> str | None:
    for field in ("name", "title"):
        if field in content_type.fields:
            return field
    required = [f for f, s in content_type.fields.items() if s.required and s.type == "string"]
    return required[0] if required else None


def _words(text: str) -> list[str]:
    words = _WORD.findall(_fold(text))
    return [w.removesuffix("'s") for w in words if w not in STOP]


@lru_cache(maxsize=1024)
def _value_words(values: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """`_words` of each of a record's text values (worked out once per record)."""
    return tuple(tuple(_words(value)) for value in values)


def _within(name: Sequence[str], other: Sequence[str]) -> bool:
    """Whether the words of `name` come in order, together, in `other` (a word may be
    misspelt by a letter: "Crown Plaza" for "Crowne Plaza")."""
    size = len(name)
    return size > 0 and any(
        all(a == b or _one_edit(a, b) for a, b in zip(name, other[i : i + size], strict=True))
        for i in range(len(other) - size + 1)
    )


@per_object
def _others(content_type: ContentType) -> re.Pattern[str] | None:
    """The other values of the subject field's vocabulary, as one pattern (or None)."""
    field = _subject_field(content_type)
    values = content_type.fields[field].known_values if field else []
    if not values:
        return None
    names = sorted(values, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")


def check_subject(
    text: str, content_type: ContentType, record: dict[str, Any]
) -> list[CheckFinding]:
    """An error for each other name that takes the subject's place."""
    field = _subject_field(content_type)
    subject = record.get(field) if field else None
    if not isinstance(subject, str) or not subject.strip():
        return []
    own = _words(subject)
    values = _value_words(tuple(record_strings(record)))
    vocabulary = type_words(content_type)
    found: dict[tuple[int, int], str] = {}

    def is_name(words: list[str]) -> bool:  # some word no field's vocabulary explains
        return any(w not in vocabulary for w in words)

    said = {word for value in values for word in value}

    def is_subject(words: list[str]) -> bool:  # "Browns", "Trailhead Water Bottle"
        if _within(words, own) or _within(own, words):
            return True
        return any(w in own for w in words) and all(w in said or w in vocabulary for w in words)

    for match in _CALLED.finditer(text):
        words = _words(match[1])
        if words and not is_subject(words):
            found[match.span(1)] = f"calls it {match[1]!r}, but it is {subject!r}"
    for match in _DESCRIBED.finditer(text):
        words, first = _words(match[1]), match[1].split()[0].casefold()
        if first in _PREPOSITIONS:
            continue  # "Near Café Sicilia is a coffee shop ...": not its subject
        if is_name(words) and not is_subject(words):
            found[match.span(1)] = f"describes {match[1]!r}, not {subject!r}"
    for match in _establishments(text):
        words = _words(match[1])
        if not match[1].split()[-1][:1].isupper() or not is_name(words):
            continue
        if _NEARBY.search(text, max(0, match.start() - 20), match.start()):
            continue  # "near Crown Plaza Hotel": a landmark, for grounding to judge
        if not any(_within(words, value) or _within(value, words) for value in values if value):
            found[match.span(1)] = f"names another establishment or product, {match[1]!r}"
    if (others := _others(content_type)) is not None:
        for match in others.finditer(text):
            if not _within(_words(match.group()), own) and not any(
                _within(_words(match.group()), value) for value in values
            ):
                found[match.span()] = f"names {match.group()!r}, another {field} than {subject!r}"
    return [
        CheckFinding(
            CHECK,
            "error",
            message,
            start,
            end,
            f"write about {subject!r} only, not {text[start:end]!r}",
            field,
        )
        for (start, end), message in sorted(found.items())
    ]
