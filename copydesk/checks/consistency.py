"""Consistency with the input record: does the text carry every fact its section must?

Matching is tolerant: case, accents, dashes and whitespace do not matter, a value may
appear as one of its declared synonyms, numbers as digits with or without `.00`, a
currency sign or thousands commas, small integers as words, amounts of money as ranges
(`copydesk.checks.money`: "twenty to twenty-five pounds" states £20-25, as does "cheap"
for "less than £20" when the manifest names them synonyms). `copydesk.checks.invented`
reuses these helpers for the opposite check: values stated that the record does not have."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from copydesk.checks.findings import CheckFinding
from copydesk.checks.money import CURRENCIES, Money, find_money
from copydesk.checks.patterns import Anchored, per_object
from copydesk.content.outline import SectionPlan
from copydesk.content.types import ContentType, FieldSpec

CHECK = "facts_present"
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_NUMBER_WORDS = {str(number): word for number, word in enumerate(_WORDS) if number}
_WORD_NUMBERS = {word: number for number, word in _NUMBER_WORDS.items()}
_SYMBOL_WORDS = {"&": "(?:&|and)"}
_FOLD = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))  # dashes
_FOLD |= str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00d7": "x"})
# ASCII folds a character to one: upper case to lower, whitespace to a space (as `of` does).
_ASCII_FOLD = str.maketrans(
    {chr(c): (" " if chr(c).isspace() else chr(c).casefold()) for c in range(128)}
)
_WHITESPACE_RUN = re.compile(r"\s\s")  # collapsed to one space by `_Folded.of`
_GAP = r"[\W_]*"  # between the words of a value: spaces, dashes, punctuation or nothing
_START, _END = r"(?<![^\W_])", r"(?![^\W_])"  # not inside a word
_NUM_START, _NUM_END = r"(?<![\d.,])", r"(?![\d]|[.,]\d)"  # not inside a number
_OUT_OF = re.compile(r"(\d+) out of (\d+)")
_LEVELS = {"high", "average", "low"}
_RATING_NEXT = r"(?![\s-]*(?:customers?|rat(?:ed|ing|ings)|reviews?|stars?)(?![^\W_]))"
_NEGATORS = {"not", "no", "non", "never", "without", "nor", "neither", "cannot"}
_CONJUNCTIONS = {"and", "but", "or", "yet", "while", "although", "though"}
_NO_WELCOME = (
    r"(?:children|kids)[\W_]*(?:are[\W_]*|is[\W_]*)?(?:not|n't|never)[\W_]*(?:welcome|allowed)"
)
_BUILT_IN_BOOLEANS = {  # label: (wordings of yes, regular expressions for no)
    "family friendly": (
        ["kid friendly", "kids friendly", "child friendly", "children", "kids", "families"],
        [r"adults?[\W_]*only", r"no[\W_]*(?:children|kids)", _NO_WELCOME],
    ),
}


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """Casefolded, accents and compatibility forms removed, dashes and quotes unified."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.casefold().translate(_FOLD)


_Span = tuple[int, int, int, int]  # folded start, folded end, original start, original end


@dataclass(frozen=True)
class _Folded:
    """A text folded for matching, with each folded character's offset in the original."""

    text: str
    offsets: tuple[int, ...]

    @classmethod
    @lru_cache(maxsize=64)  # a text is folded for the facts check, then for invented values
    def of(cls, original: str) -> _Folded:
        if original.isascii() and _WHITESPACE_RUN.search(original) is None:
            # One character for one (most texts): `folded_each`'s fold, without its loop.
            return cls(original.translate(_ASCII_FOLD), tuple(range(len(original))))
        return cls.folded_each(original)

    @classmethod
    def folded_each(cls, original: str) -> _Folded:
        """The fold, a character at a time (any text)."""
        chars: list[str] = []
        offsets: list[int] = []
        for index, char in enumerate(original):
            piece = " " if char.isspace() else _fold(char)
            if piece == " " and chars and chars[-1] == " ":
                continue  # whitespace runs count as one space
            chars.extend(piece)
            offsets.extend([index] * len(piece))
        return cls("".join(chars), tuple(offsets))

    @cached_property
    def money(self) -> tuple[Money, ...]:
        """Every amount of money the text states (`find_money`)."""
        return tuple(find_money(self.text))

    def find(self, pattern: str | Anchored) -> Iterator[_Span]:
        """The span of every non-empty match."""
        anchored = Anchored.of(pattern) if isinstance(pattern, str) else pattern
        for match in anchored.finditer(self.text):
            if match.end() > match.start():
                yield self.span(*match.span())

    def span(self, start: int, end: int) -> _Span:
        return start, end, self.offsets[start], self.offsets[end - 1] + 1


def _label(field: str) -> str:
    """`familyFriendly` / `customer_rating` → `family friendly` / `customer rating`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", field).replace("_", " ").lower()


def _token(token: str) -> str:
    if token in _NUMBER_WORDS:
        return f"(?:{token}|{_NUMBER_WORDS[token]})"
    if token in _WORD_NUMBERS:
        return f"(?:{token}|{_WORD_NUMBERS[token]})"
    return _SYMBOL_WORDS.get(token) or re.escape(token)


@lru_cache(maxsize=4096)
def _phrase(value: str) -> str:
    """A pattern for a wording: its words in order, any gap between them, whole words only;
    the last word may take a plural or `-ly` ending."""
    folded = _fold(value)
    tokens = re.findall(r"[^\W_]+|&", folded)
    if not tokens:
        return re.escape(" ".join(folded.split()))  # a sign such as `$`: as it is
    ending = "(?:s|es|ly)?" if tokens[-1].isalpha() and len(tokens[-1]) > 2 else ""
    return _START + _GAP.join(map(_token, tokens)) + ending + _END


def _number(value: str) -> str | None:
    """A pattern for a number: thousands commas optional, trailing zeros after the point
    optional (49.00 ~ 49, $49, 49 USD; 12.50 ~ 12.5)."""
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", value.strip())
    if match is None:
        return None
    whole, fraction = match.group(1).lstrip("0") or "0", (match.group(2) or "").rstrip("0")
    groups = [whole[max(i - 3, 0) : i] for i in range(len(whole), 0, -3)][::-1]
    pattern = ",?".join(groups) + (rf"\.{fraction}0*" if fraction else r"(?:\.0+)?")
    word = None if fraction else _NUMBER_WORDS.get(whole)
    words = f"|{_START}{word}{_END}" if word else ""
    return f"(?:{_NUM_START}{pattern}{_NUM_END}{words})"


def money_of(field: str, spec: FieldSpec, value: Any) -> Money | None:
    """The money a value states: a price (decimal), its own range ("£20-25"), else its first
    synonym's ("cheap": "less than £20"); None when it states none."""
    if spec.type == "decimal" and "pric" in field.casefold():
        return Money(float(value), float(value))
    if spec.type not in ("string", "enum"):
        return None
    for wording in [str(value), *_synonyms(spec, str(value))]:
        if found := _money_in(wording):
            return found
    return None


@lru_cache(maxsize=1024)
def _money_in(wording: str) -> Money | None:
    found = find_money(_Folded.of(wording).text)
    return Money(found[0].low, found[0].high, found[0].currency) if found else None


class _SpecIndex:
    """What matching needs of a field's spec, worked out once per spec (`_index`)."""

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec
        synonyms: dict[str, list[str]] = {}
        for key, words in spec.synonyms.items():
            synonyms.setdefault(key.casefold(), []).extend(words)
        self.synonyms = {key: tuple(words) for key, words in synonyms.items()}
        self.folded_synonyms = {key: frozenset(map(_fold, ws)) for key, ws in synonyms.items()}
        self.wordings = lru_cache(maxsize=1024)(self._wordings)

    def _wordings(self, field: str, value: str) -> tuple[Anchored, ...]:
        """`_wordings`, compiled."""
        return tuple(map(Anchored.of, _wordings(field, self.spec, value)))


_index = per_object(_SpecIndex)


def _synonyms(spec: FieldSpec, value: str) -> tuple[str, ...]:
    """The synonyms the spec names for the value (its key matched in any case)."""
    return _index(spec).synonyms.get(value.casefold(), ())


def _wordings(field: str, spec: FieldSpec, value: Any) -> list[str]:
    """Patterns any of which realises one (non-boolean) value of the field."""
    text = str(value)
    if spec.type in ("decimal", "integer") and (number := _number(text)):
        return [number]
    patterns = [_phrase(wording) for wording in [text, *_synonyms(spec, text)]]
    if spec.type == "enum" and (signs := CURRENCIES.get(text.casefold())):
        patterns += [_phrase(sign) for sign in signs]
    for match in filter(None, map(_OUT_OF.fullmatch, [text.strip(), *_synonyms(spec, text)])):
        score, scale = (_number(group) for group in match.groups())
        patterns += [
            rf"{score}{_GAP}(?:out{_GAP}of|/){_GAP}{scale}",
            rf"{score}{_GAP}stars?{_END}",
            rf"{_START}rated{_GAP}(?:at{_GAP})?{score}",
            rf"{_START}rating{_GAP}of{_GAP}{score}",
        ]
    if "pric" in field.casefold():  # "high", but not in "high customer rating"
        patterns = [pattern + _RATING_NEXT for pattern in patterns]
    if "rating" in field.casefold() and text.casefold() in _LEVELS:
        patterns[0] = rf"{_START}{text.casefold()}(?:ly)?{_END}(?![\s-]*(?:pric|cost|end))"
    return patterns


def _found(folded: _Folded, patterns: Iterable[str | Anchored]) -> bool:
    return any(next(folded.find(pattern), None) for pattern in patterns)


def _negated(folded: str, start: int) -> bool:
    """Whether a `not` (no, never, isn't, ...) comes shortly before `start` in its clause."""
    clause = re.split(r"[.!?;,:]", folded[:start])[-1]
    words = re.findall(r"[^\W_]+(?:'[^\W_]+)?", clause)[-3:]
    for index in range(len(words) - 1, -1, -1):
        if words[index] in _CONJUNCTIONS:
            words = words[index + 1 :]
            break
    return any(word in _NEGATORS or word.endswith("n't") for word in words)


def boolean_spans(field: str, spec: FieldSpec, folded: _Folded) -> tuple[list[_Span], list[_Span]]:
    """Where the text says yes and where it says no to a yes/no field."""
    label = _label(field)
    yes_words, no_patterns = _BUILT_IN_BOOLEANS.get(label, ([], []))
    yes_words = [label, *yes_words, *_synonyms(spec, "true"), *_synonyms(spec, "yes")]
    no_words = [f"not {label}", *_synonyms(spec, "false"), *_synonyms(spec, "no")]
    no_spans = [m for p in [*map(_phrase, no_words), *no_patterns] for m in folded.find(p)]
    yes_spans: list[_Span] = []
    for match in (m for pattern in map(_phrase, yes_words) for m in folded.find(pattern)):
        if any(match[0] < other[1] and other[0] < match[1] for other in no_spans):
            continue  # part of a "no" wording, e.g. `no children`
        (no_spans if _negated(folded.text, match[0]) else yes_spans).append(match)
    return yes_spans, no_spans


def _boolean_findings(
    field: str, spec: FieldSpec, value: bool, folded: _Folded
) -> list[CheckFinding]:
    label = _label(field)
    yes_spans, no_spans = boolean_spans(field, spec, folded)
    said, contradicting = (yes_spans, no_spans) if value else (no_spans, yes_spans)
    if said:
        return []
    wanted = label if value else f"not {label}"
    suggestion = f"say that it is {wanted}"
    if contradicting:
        first = min(contradicting, key=lambda match: match[2])
        message = f"says it is {'not ' if value else ''}{label}, but {field} is {'yes' if value else 'no'}"
        return [CheckFinding(CHECK, "error", message, first[2], first[3], suggestion, field)]
    message = f"does not say whether it is {label} ({field} is {'yes' if value else 'no'})"
    return [CheckFinding(CHECK, "error", message, suggestion=suggestion, field=field)]


def _states(
    folded: _Folded, money: Iterable[Money], field: str, spec: FieldSpec, value: Any
) -> bool:
    if _found(folded, _index(spec).wordings(field, str(value))):
        return True
    wanted = money_of(field, spec, value)
    return wanted is not None and any(m.overlaps(wanted) and m.same_currency(wanted) for m in money)


def check_facts_present(
    section: SectionPlan, text: str, content_type: ContentType
) -> list[CheckFinding]:
    """An error for each fact of the section (each list item) the text does not carry."""
    return check_facts(section.facts, text, content_type)


def check_facts(facts: dict[str, Any], text: str, content_type: ContentType) -> list[CheckFinding]:
    """An error for each fact (field → value; each list item) the text does not carry."""
    folded = _Folded.of(text)
    money = folded.money
    findings: list[CheckFinding] = []
    for field, value in facts.items():
        spec = content_type.fields[field]
        if isinstance(value, bool):
            findings += _boolean_findings(field, spec, value, folded)
            continue
        label = _label(field)
        for item in value if isinstance(value, list) else [value]:
            if _states(folded, money, field, spec, item):
                continue
            verb = "include" if isinstance(value, list) else "is"
            message = f"does not mention {label} {str(item)!r}"
            suggestion = f"mention that the {label} {verb} {item}"
            findings.append(
                CheckFinding(CHECK, "error", message, suggestion=suggestion, field=field)
            )
    return findings
