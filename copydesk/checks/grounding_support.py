"""What supports a span of a section's text, for the grounding check: the record's words,
numbers, ordinals and units, their synonyms, and the content type's vocabulary (worked
out once per content type, and once per record)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from copydesk.checks.consistency import _BUILT_IN_BOOLEANS, _fold, _label, money_of
from copydesk.checks.lexicon import (
    CONNECTORS,
    NUMBER_WORDS,
    ORDINALS,
    UNIT_WORDS,
)
from copydesk.checks.money import CURRENCIES
from copydesk.checks.patterns import per_object
from copydesk.content.types import ContentType

_WORD_SPLIT = re.compile(r"[^\W_]+")


_NUMBER_IN = re.compile(r"\d+(?:[.,]\d+)*")


_WELL_FORMED = re.compile(r"\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?")  # 1,299.50 or 1299.50


_LETTERS = re.compile(r"[^\W\d_]+")


_ORDINAL_IN = re.compile(r"(\d+)(?:st|nd|rd|th)\b")


@dataclass(frozen=True)
class Support:
    """What a record and its content type support: words (folded), whole names (folded word
    tuples, without a leading "the"), numbers, amounts of money."""

    words: frozenset[str]
    stems: frozenset[str]
    names: frozenset[tuple[str, ...]]
    numbers: frozenset[float]
    money_numbers: frozenset[float]  # the numbers of the record's amounts of money
    ordinals: frozenset[float]  # "1st", "third": ordinals the record states
    units: frozenset[str]  # units the record measures in ("cm", "hour")
    record_words: frozenset[str]  # the record's own words (for misspellings of them)

    def has_word(self, word: str) -> bool:
        if word in self.words or stem(word) in self.stems:
            return True
        return len(word) >= 5 and any(_one_edit(word, other) for other in self.record_words)


def stem(word: str) -> str:
    """A crude stem, the same for "rate", "rated", "rates", "rating" and "Rosie's"."""
    word = word.removesuffix("'s")
    for ending in ("ing", "ed", "es", "s", "ly", "er"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    return word.removesuffix("e") if len(word) > 3 else word


def _one_edit(word: str, other: str) -> bool:
    """Whether one letter added, dropped or changed turns `word` into `other` ("Chines")."""
    if abs(len(word) - len(other)) > 1 or len(other) < 5 or word[0] != other[0]:
        return False
    if len(word) == len(other):
        return sum(a != b for a, b in zip(word, other, strict=True)) == 1
    short, long = sorted((word, other), key=len)
    index = next(
        (i for i, (a, b) in enumerate(zip(short, long, strict=False)) if a != b), len(short)
    )
    return short[index:] == long[index + 1 :]


def _unit(word: str) -> str | None:
    """A unit of measure, in one spelling ("hours" and "hrs" are "hour"), or None."""
    return UNIT_WORDS.get(word.lower().rstrip("."))


def _folded_words(text: str) -> list[str]:
    return _WORD_SPLIT.findall(_fold(text).replace("\u2019", "'"))


def _is_name(entry: str) -> bool:
    """A vocabulary entry written as a name of two words or more ("Burger King")."""
    words = [w for w in _WORD_SPLIT.findall(entry) if w.casefold() not in CONNECTORS]
    return len(words) >= 2 and all(w[0].isupper() for w in words)


def _numbers(text: str) -> set[float]:
    """The numbers a value states, in digits or words."""
    found = {float(n.replace(",", "")) for n in _NUMBER_IN.findall(text) if _number(n)}
    return found | {float(NUMBER_WORDS[w]) for w in _folded_words(text) if w in NUMBER_WORDS}


def _ordinals(text: str) -> set[float]:
    found = {float(m[1]) for m in _ORDINAL_IN.finditer(text)}
    return found | {float(ORDINALS[w]) for w in _folded_words(text) if w in ORDINALS}


def _number(digits: str) -> bool:
    return _WELL_FORMED.fullmatch(digits) is not None


@per_object
def _type_support(content_type: ContentType) -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """The content type's words and whole names: labels, aliases, vocabularies, synonyms,
    the built-in wordings of yes/no fields, currencies, `grounding.allow`."""
    words: set[str] = set()
    names: set[tuple[str, ...]] = set()
    entries: list[str] = [*content_type.grounding.allow]
    for field, spec in content_type.fields.items():
        entries += [_label(field), *spec.aliases, *(spec.values or []), *spec.known_values]
        entries += [*spec.synonyms, *(w for ws in spec.synonyms.values() for w in ws)]
        if spec.type == "boolean":
            yes, _ = _BUILT_IN_BOOLEANS.get(_label(field), ([], []))
            entries += yes
    for code, signs in CURRENCIES.items():
        entries += [code, *signs]
    for entry in entries:
        folded = _folded_words(entry)
        if _is_name(entry):
            names.add(tuple(folded[1:] if folded[:1] == ["the"] else folded))
        else:
            words.update(folded)
    return frozenset(words), frozenset(names)


@per_object
def _type_stems(content_type: ContentType) -> frozenset[str]:
    return frozenset(map(stem, _type_support(content_type)[0]))


def type_words(content_type: ContentType) -> frozenset[str]:
    """The words (folded) of the content type's labels, vocabularies and `grounding.allow`,
    but for the whole names among them."""
    return _type_support(content_type)[0]


def support_of(content_type: ContentType, record: dict[str, Any]) -> Support:
    """What the record and its content type support (worked out once per record)."""
    key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in record.items())
    return _supports(content_type)(key)


@per_object
def _supports(content_type: ContentType) -> Callable[[_Record], Support]:
    """`_support` for the content type, remembered for its last 1,024 records."""
    return lru_cache(maxsize=1024)(partial(_support, content_type))


_Record = tuple[tuple[str, Any], ...]  # a record as a hashable key


def _support(content_type: ContentType, record: _Record) -> Support:
    type_words, names = _type_support(content_type)
    allowed = " ".join(content_type.grounding.allow)
    words, own, numbers, money = set(type_words), set(), _numbers(allowed), set()
    ordinals, units = _ordinals(allowed), {u for w in allowed.split() if (u := _unit(w))}
    for field, value in record:
        spec = content_type.fields.get(field)
        if spec is None or value is None:
            continue
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, bool):
                continue
            text = str(item)
            same = text.casefold()
            wordings = [
                text,
                *(w for k, ws in spec.synonyms.items() if k.casefold() == same for w in ws),
            ]
            priced = money_of(field, spec, item) is not None
            for wording in wordings:
                own.update(_folded_words(wording))
                numbers |= _numbers(wording)
                money |= _numbers(wording) if priced else set()
                ordinals |= _ordinals(wording)
                units |= {u for w in _LETTERS.findall(wording) if (u := _unit(w))}
    words |= own
    return Support(
        words=frozenset(words),
        stems=_type_stems(content_type) | frozenset(map(stem, own)),
        names=names,
        numbers=frozenset(numbers),
        money_numbers=frozenset(money or numbers),
        ordinals=frozenset(ordinals),
        units=frozenset(units),
        record_words=frozenset(w for w in own if len(w) >= 5),
    )
