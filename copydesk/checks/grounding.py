"""Grounding: every name, place, street, number, date and brand-like word of a section is
supported by something: the record (its values, their declared synonyms, the money forms
`facts_present` accepts), the content type's vocabularies, or the manifest's
`grounding.allow` list. Each unsupported span is an error naming it, and its suggestion is
the instruction the next attempt gets ("do not mention 'Liverpool'; the input gives no
such town or place").

A deterministic scanner, no model (see the README for its limits):
- names: capitalised words (and "iPhone", "BPA"-like ones), runs of them joined through
  "of", "de", "&", hyphens ("Taste of Cambridge", "Gore-Tex"); a capital at the start of a
  sentence, a line or after a colon counts only when the word is not a common one
  (`lexicon.STARTERS`, `-ly`/`-ed`/`-ing` words). A name is supported when each of its words
  is a word of a record value or of a non-name vocabulary entry (labels, enum values,
  synonyms: "City Centre", "Family Friendly"), or when it holds a whole name of the
  vocabulary ("Burger King": whether it is the right one is `no_invented_values`' question);
- numbers: digits (with ordinal or unit endings: "25th", "11pm"), number words from "two",
  ordinals from "third", "half"; supported when the record states the same number (in
  digits or words, in a value or a synonym of one) or when they are part of an amount of
  money that agrees with the record's;
- places, streets and dates said in lower case: the nouns of `lexicon` ("on the high
  street", "by the harbour", "every summer"), unless the vocabulary has them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from copydesk.checks.consistency import _fold, _Folded
from copydesk.checks.findings import CheckFinding
from copydesk.checks.grounding_support import Support, _number, _unit, support_of
from copydesk.checks.invented import find_mentions
from copydesk.checks.lexicon import (
    CONNECTORS,
    DATE_WORDS,
    MONTHS_AND_DAYS,
    NUMBER_WORDS,
    ORDINALS,
    PLACE_NOUNS,
    PLACE_WORDS,
    STARTERS,
    STOP,
    STREET_NOUNS,
)
from copydesk.content.types import ContentType

CHECK = "grounding"


_TOKEN = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)(?P<unit>[^\W\d_]*)"  # 25th, 4.8, 1,299.50, 11pm
    r"|(?P<word>[^\W\d_]+(?:['\u2019][^\W\d_]+)*)"  # Rosie's, McDonald's, don't
)


_SENTENCE_BREAK = re.compile(r"(?:^|[.!?:;\n\u2022*]|(?<![\w])-(?=\s))[\s\"'\u201c\u2018(\[-]*$")


_NAME_GAP = re.compile(
    r"[ \t]*(?:[&+-]|'n')?[ \t]*|[ \t]+(?:[Oo]f|de|la|le|du|del|da|di|der|von|van|upon|y)(?:[ \t]+[Tt]he)?[ \t]+"
)


_PROSE_ENDING = re.compile(r"\w{2,}(?:ly|ed|ing)")


_PLACED = re.compile(r"\b(?:in|at|from|of|to)\s+(?:the\s+)?$")  # "in Liverpool", "from the Lake"


_YEAR = re.compile(r"1[89]\d\d|20\d\d")


_JOINED = re.compile(r"[\s-]?")  # between a number and its unit: "2 kg", "5-year"


_IDIOM = re.compile(r"\b(?:down|up|across|along|over)\s+the\s+$")


_NOTICED = frozenset(NUMBER_WORDS) | PLACE_NOUNS | DATE_WORDS  # what `_lower_word` reads


_KINDS = {  # kind: (what the message calls it, what the input lacks)
    "town": ("the place", "no such town or place"),
    "street": ("the street", "no street or address"),
    "date": ("the date", "no date or time"),
    "number": ("the number", "no such number"),
    "brand": ("the name", "no such brand or product"),
    "name": ("the name", "no such name"),
}


@dataclass(frozen=True)
class Unsupported:
    """A span of the text nothing supports; offsets into the text."""

    start: int
    end: int
    kind: str  # a key of _KINDS


def _sentence_start(text: str, start: int) -> bool:
    return _SENTENCE_BREAK.search(text, max(0, start - 8), start) is not None or start == 0


def _money_spans(text: str) -> list[tuple[int, int]]:
    """Where the text states an amount of money (offsets into the text)."""
    folded = _Folded.of(text)
    return [folded.span(money.start, money.end)[2:] for money in folded.money]


def find_unsupported(
    text: str, content_type: ContentType, record: dict[str, Any]
) -> list[Unsupported]:
    """Every span of the text that names, places, dates or counts something unsupported."""
    support = support_of(content_type, record)
    tokens = list(_TOKEN.finditer(text))
    money = _money_spans(text)
    found: list[Unsupported] = []
    run: list[re.Match[str]] = []  # the capitalised words of the name being read
    for index, token in enumerate(tokens):
        if token["num"] is not None:
            if run:
                found += _name(text, run, support)
                run = []
            found += _number_token(text, tokens, index, support, money)
            continue
        word = token["word"]
        low = _fold(word).replace("\u2019", "'")
        if _capitalised(word) and not _common(text, token, low):
            if run and not _NAME_GAP.fullmatch(text, run[-1].end(), token.start()):
                found += _name(text, run, support)
                run = []
            run.append(token)
            continue
        if run and low in CONNECTORS and index + 1 < len(tokens):
            nxt = tokens[index + 1]["word"]
            if nxt and _capitalised(nxt):
                continue  # "Taste of Cambridge": the run goes on through "of"
        if run:
            found += _name(text, run, support)
            run = []
        if low in _NOTICED:
            found += _lower_word(text, tokens, index, low, support)
    if run:
        found += _name(text, run, support)
    if "no_invented_values" in content_type.checks and any(_its(u, text) for u in found):
        found = _not_misstated(found, text, content_type, record)
    return found


_COUNTED = ("number", "date")


# What `no_invented_values` reads as a landmark ("near Café Rouge"): see invented._PLACE.
_NEAR_BEFORE = re.compile(
    r"(?:[Nn]ear(?:\s+to)?|[Cc]lose\s+to|[Nn]ext\s+to|[Nn]ot\s+far\s+from|[Bb]eside|[Oo]pposite)"
    r"\s+(?:[Tt]he\s+)?$"
)


def _its(span: Unsupported, text: str) -> bool:
    """Whether `no_invented_values` may report the span: a number, or a name after "near"."""
    if span.kind in _COUNTED:
        return True
    return _NEAR_BEFORE.search(text, max(0, span.start - 24), span.start) is not None


def _not_misstated(
    found: list[Unsupported], text: str, content_type: ContentType, record: dict[str, Any]
) -> list[Unsupported]:
    """Without the spans inside a value that `no_invented_values` reports as wrong or added
    ("£20-£25" when the record has no price, "near The Swan" when it has no landmark): one
    finding for one mistake. (Only when such a span is unsupported: finding the mentions
    costs ~1.5 ms.)"""
    wrong = [(m.start, m.end) for m in find_mentions(text, content_type, record) if not m.fits]
    return [u for u in found if not any(s <= u.start and u.end <= e for s, e in wrong)]


def _capitalised(word: str) -> bool:
    if word.islower():
        return False  # most words: no capital in them
    return word[0].isupper() or any(ch.isupper() for ch in word[1:])


def _common(text: str, token: re.Match[str], low: str) -> bool:
    """A capitalised word that is not a name: a function word ("The", "It"), a word
    capitalised at the start of a sentence, line or item or written in capitals ("ONE
    STAR"), or an adverb or participle starting a sentence ("Sadly", "Serving"), or a past
    participle anywhere ("is Located near")."""
    starts = _sentence_start(text, token.start())
    if low in MONTHS_AND_DAYS and not starts:
        return False  # "in May"
    if low in STOP:
        return True
    if low in STARTERS and (starts or token["word"].isupper()):
        return True
    return _PROSE_ENDING.fullmatch(low) is not None and (starts or low.endswith("ed"))


def _name(text: str, run: list[re.Match[str]], support: Support) -> list[Unsupported]:
    words = [_fold(t["word"]).replace("\u2019", "'") for t in run]
    covered = [False] * len(words)
    for start in range(len(words)):  # whole names of the vocabulary
        for end in range(len(words), start, -1):
            if tuple(w.removesuffix("'s") for w in words[start:end]) in support.names:
                covered[start:end] = [True] * (end - start)
                break
    bare = [i for i, w in enumerate(words) if not covered[i] and not support.has_word(w)]
    if not bare:
        return []
    first, last = run[0], run[-1]
    return [Unsupported(first.start(), last.end(), _name_kind(text, run, words))]


def _name_kind(text: str, run: list[re.Match[str]], words: list[str]) -> str:
    last = words[-1].removesuffix("'s")
    if last in STREET_NOUNS or any(t["num"] for t in run):
        return "street"
    if any(w in MONTHS_AND_DAYS for w in words):
        return "date"
    before = text[max(0, run[0].start() - 12) : run[0].start()].lower()
    if last in PLACE_WORDS or words[-1].endswith("'s") or _PLACED.search(before):
        return "town"
    word = run[0]["word"]
    if len(run) == 1 and (word.isupper() or not word[0].isupper() or "-" in word):
        return "brand"
    return "name"


def _counted(
    text: str,
    tokens: list[re.Match[str]],
    index: int,
    value: float,
    support: Support,
    money: list[tuple[int, int]],
    ordinal: bool,
) -> bool:
    """Whether the record states the number, as what the text says it is: an ordinal, an
    amount of money, a quantity in a unit the record uses, or a plain number."""
    token = tokens[index]
    if ordinal:
        return value in support.ordinals
    if any(start <= token.start() < end for start, end in money):
        return value in support.money_numbers
    unit = _unit(token["unit"]) if token["unit"] else None
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if unit is None and following is not None and following["word"]:
        unit = (
            _unit(following["word"])
            if _JOINED.fullmatch(text, token.end(), following.start())
            else None
        )
    return value in support.numbers and (unit is None or unit in support.units)


def _number_token(
    text: str,
    tokens: list[re.Match[str]],
    index: int,
    support: Support,
    money: list[tuple[int, int]],
) -> list[Unsupported]:
    token = tokens[index]
    digits, unit = token["num"], token["unit"].lower()
    if _number(digits):
        value = float(digits.replace(",", ""))
        ordinal = unit in ("st", "nd", "rd", "th")
        if _counted(text, tokens, index, value, support, money, ordinal):
            return []
    if unit in STREET_NOUNS or text[token.end() : token.end() + 12].lower().lstrip().startswith(
        tuple(f"{s} " for s in ("street", "road", "avenue"))
    ):
        kind = "street"
    elif _YEAR.fullmatch(digits) or unit in ("am", "pm"):
        kind = "date"
    else:
        kind = "number"
    return [Unsupported(token.start(), token.end(), kind)]


def _lower_word(
    text: str, tokens: list[re.Match[str]], index: int, low: str, support: Support
) -> list[Unsupported]:
    """A number word, a place noun or a date word said in lower case, unsupported."""
    token = tokens[index]
    if low in NUMBER_WORDS and low not in ("one", "first", "second"):
        value, ordinal = float(NUMBER_WORDS[low]), low in ORDINALS
        if low in support.words or _counted(text, tokens, index, value, support, [], ordinal):
            return []
        return [Unsupported(token.start(), token.end(), "number")]
    if low in PLACE_NOUNS and not support.has_word(low):
        if _IDIOM.search(text, max(0, token.start() - 16), token.start()):
            return []  # "just down the road"
        kind = "street" if low in STREET_NOUNS else "town"
        return [Unsupported(token.start(), token.end(), kind)]
    if low in DATE_WORDS and not support.has_word(low):
        return [Unsupported(token.start(), token.end(), "date")]
    return []


def check_grounding(
    text: str, content_type: ContentType, record: dict[str, Any]
) -> list[CheckFinding]:
    """An error for each name, place, street, number or date nothing supports."""
    findings = []
    for span in find_unsupported(text, content_type, record):
        said = text[span.start : span.end]
        what, lacking = _KINDS[span.kind]
        message = f"mentions {said!r}, which the input does not give ({what})"
        suggestion = f"do not mention {said!r}; the input gives {lacking}"
        findings.append(CheckFinding(CHECK, "error", message, span.start, span.end, suggestion))
    return findings
