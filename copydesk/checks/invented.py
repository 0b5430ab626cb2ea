"""No invented values: the text states no value of a field that the record does not have.

A field's vocabulary is its enum `values`, its `known_values`, the values its `synonyms`
name, and the record's own value(s); each is looked for in every wording the fact check
accepts (`consistency._wordings`), and amounts of money as ranges. Where mentions overlap,
the longest wins and, at equal length, the record's own value: a food word inside a name
("Raja Indian Cuisine"), or "café" inside "Café Brazil", is no value of its own.

A mention *fits* when it states the record's value: one of its wordings, a shorter wording
of a list item ("green" for "forest green"), or money whose range overlaps the value's
("cheap" and "less than £20": a level's range is that of the first synonym that has one).
A mention that does not fit is *wrong* when the record has a value for the field, *added*
when it has none. Three refinements keep human wording from reading as errors:
- level words ("high", "average", "low", "moderate") belong to the price or the rating by
  the nearest cue word in their clause ("high prices", "the customer rating is high"); a
  level in several fields' vocabulary ("high") with no cue belongs to none;
- a value naming what every item is (eatType "restaurant" in the restaurant content type)
  is never added, and wrong only when the text does not also state the record's own value;
- for a field named `near`, a capitalised name after "near", "close to", ... that nothing
  else claims is an added value when the record has none ("near Café Rouge")."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from copydesk.checks.consistency import (
    _END,
    _fold,
    _Folded,
    _index,
    _label,
    _phrase,
    _Span,
    boolean_spans,
    money_of,
)
from copydesk.checks.findings import CheckFinding
from copydesk.checks.patterns import Anchored, per_object
from copydesk.content.outline import SectionPlan
from copydesk.content.types import ContentType, FieldSpec

CHECK = "no_invented_values"
_CUES = {  # a field whose name holds the key: words that claim a nearby level word for it
    "pric": r"pric\w*|costs?|costing|cheap\w*|expensive|end|spend\w*|budget|menu|[£$€]",
    "rating": r"rat(?:ed|ing|ings)|reviews?|reviewed|stars?|scores?|customers?",
}
_LEVEL = re.compile(r"(?:high|low|average|moderate|medium)(?:ly|s)?")
_CLAUSE_BREAK = re.compile(
    r"[.!?;:,()]|(?<![^\W_])(?:and|but|or|yet|while|whereas|although|though|with|which|plus)(?![^\W_])"
)
_DENIED = re.compile(  # what, just before a value, says the text does not state it
    r"(?:(?<![^\W_])(?:not|no|non|never|without)|n't)"
    r"(?:\s(?:a|an|the|in|at|on|by|serve|serving|offer|offering|very|so|too|really|quite))*[\s-]*$"
    r"|(?<![^\W_])(?:outside|beyond|(?:north|south|east|west)\sof)(?:\sof)?(?:\sthe)?\s*$"
)
_JOINED = re.compile(r"[\s,:(-]*")  # between two mentions that read as one
_PLACE = re.compile(  # a capitalised name after a word of nearness, e.g. `near Café Rouge`
    r"\b(?:[Nn]ear(?:\s+to)?|[Cc]lose\s+to|[Nn]ext\s+to|[Nn]ot\s+far\s+from|[Bb]eside|[Oo]pposite)\s+"
    r"((?:[Tt]he\s+)?[A-Z][\w'\u2019-]*(?:\s+(?:of|by|&)?\s*[A-Z][\w'\u2019-]*)*)"
)


@dataclass(frozen=True)
class Mention:
    """A value of a field stated in the text; offsets into the original text."""

    field: str
    value: str  # the vocabulary value it states (for money: the words as written)
    start: int
    end: int
    fits: bool  # agrees with the record's value
    folded: tuple[int, int] = (0, 0)  # the span in the folded text
    guess: bool = False  # found by the `near <Name>` rule, not from the vocabulary


def _mention(field: str, value: str, span: _Span, fits: bool, guess: bool = False) -> Mention:
    return Mention(field, value, span[2], span[3], fits, (span[0], span[1]), guess)


def _as_list(value: Any) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


@per_object
def _vocabulary(spec: FieldSpec) -> tuple[str, ...]:
    words = [*(spec.values or []), *spec.known_values, *spec.synonyms]
    return tuple(dict.fromkeys(words))


@per_object
def _vocabulary_wordings(spec: FieldSpec) -> Callable[[str], _Wordings]:
    """For a field of this spec: each vocabulary value with its wordings, in order."""
    wordings = _index(spec).wordings

    def of_field(field: str) -> _Wordings:
        return tuple((word, wordings(field, word)) for word in _vocabulary(spec))

    return lru_cache(maxsize=64)(of_field)


_Wordings = tuple[tuple[str, tuple[Anchored, ...]], ...]


def _named(spec: FieldSpec, value: str, other: str) -> bool:
    """Whether `other` is one of the synonyms of `value`."""
    return _fold(other) in _index(spec).folded_synonyms.get(value.casefold(), ())


def _fits(field: str, spec: FieldSpec, word: str, own: list[str]) -> bool:
    """Whether a vocabulary value agrees with one of the record's values."""
    phrase = Anchored.of(_phrase(word))
    if any(phrase.search(_fold(value)) for value in own):
        return True  # the value itself, or a shorter wording of it
    if any(_named(spec, word, value) or _named(spec, value, word) for value in own):
        return True  # "low" and "1 out of 5", synonyms of each other
    band = money_of(field, spec, word)
    wanted = [money for value in own if (money := money_of(field, spec, value))]
    return band is not None and any(band.overlaps(w) and band.same_currency(w) for w in wanted)


def _money_mentions(
    text: str, folded: _Folded, content_type: ContentType, record: dict[str, Any]
) -> list[Mention]:
    """Amounts of money, as values of the price field (or of `currency` when only it differs)."""
    field = next((name for name in content_type.fields if "pric" in name.casefold()), None)
    if field is None:
        return []
    spec = content_type.fields[field]
    wanted = [
        money for value in _as_list(record.get(field)) if (money := money_of(field, spec, value))
    ]
    currency = record.get("currency") if "currency" in content_type.fields else None
    found = []
    for money in folded.money:
        span = folded.span(money.start, money.end)
        said = text[span[2] : span[3]]
        if not any(money.overlaps(w) for w in wanted):
            found.append(_mention(field, said, span, fits=False))
        elif currency and money.currency not in (None, str(currency).upper()):
            found.append(_mention("currency", said, span, fits=False))
        else:
            found.append(_mention(field, said, span, money.same_currency(wanted[0])))
    return found


def _candidates(
    text: str, folded: _Folded, content_type: ContentType, record: dict[str, Any]
) -> list[Mention]:
    found = _money_mentions(text, folded, content_type, record)
    for field, spec in content_type.fields.items():
        if spec.type == "boolean":
            yes, no = boolean_spans(field, spec, folded)
            value = record.get(field)
            found += [_mention(field, "yes", span, value is True) for span in yes]
            found += [_mention(field, "no", span, value is False) for span in no]
        elif spec.type in ("string", "enum", "list"):
            own, wordings = _as_list(record.get(field)), _index(spec).wordings
            words = [(word, wordings(field, word)) for word in dict.fromkeys(own)]
            words += [pair for pair in _vocabulary_wordings(spec)(field) if pair[0] not in own]
            for word, patterns in words:
                # Most words do not occur: their patterns' anchors say so without a search.
                if not any(p.may_occur(folded.text) for p in patterns):
                    continue
                spans = [span for pattern in patterns for span in folded.find(pattern)]
                if spans:  # whether it fits matters only then
                    fits = _fits(field, spec, word, own)
                    found += [_mention(field, word, span, fits) for span in spans]
    if "near" in content_type.fields and not record.get("near"):
        found += _place_guesses(text, folded)
    return found


def _denied(text: str, mention: Mention) -> bool:
    """Whether the words just before say it is not so: "not Italian", "outside the city centre"."""
    start = mention.folded[0]
    return _DENIED.search(text[max(start - 60, 0) : start]) is not None


def _place_guesses(text: str, folded: _Folded) -> list[Mention]:
    guesses = []
    for match in _PLACE.finditer(text):  # the original text: capitals count
        start = bisect.bisect_left(folded.offsets, match.start(1))
        end = bisect.bisect_left(folded.offsets, match.end(1))
        guesses.append(_mention("near", match.group(1), folded.span(start, end), False, True))
    return guesses


@per_object
def _cue_fields(content_type: ContentType) -> dict[str, str]:
    """Field → its cue pattern, for the fields that have one."""
    return {
        field: pattern
        for field in content_type.fields
        for key, pattern in _CUES.items()
        if key in field.casefold()
    }


@per_object
def _shared_levels(content_type: ContentType) -> frozenset[str]:
    """Level words in the vocabulary of more than one field (`high`: price and rating)."""
    seen: dict[str, set[str]] = {}
    for field, spec in content_type.fields.items():
        words = [*_vocabulary(spec), *(w for ws in spec.synonyms.values() for w in ws)]
        for word in words:
            if _LEVEL.fullmatch(_fold(word)):
                seen.setdefault(_fold(word), set()).add(field)
    return frozenset(word for word, fields in seen.items() if len(fields) > 1)


def _owner(mention: Mention, text: str, cues: dict[str, str]) -> str | None:
    """The field whose cue word is nearest the mention in its clause, if any."""
    start, end = mention.folded
    breaks = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(text)]
    low = max([b_end for b_start, b_end in breaks if b_end <= start], default=0)
    high = min([b_start for b_start, _ in breaks if b_start >= end], default=len(text))
    nearest: tuple[int, str] | None = None
    for field, pattern in cues.items():
        for cue in Anchored.of(rf"(?<![^\W_])(?:{pattern}){_END}").finditer(text[low:high]):
            cue_start, cue_end = cue.start() + low, cue.end() + low
            distance = max(cue_start - end, start - cue_end, 0)
            if nearest is None or distance < nearest[0]:
                nearest = (distance, field)
    return nearest[1] if nearest else None


def _attributed(
    candidates: list[Mention], folded: _Folded, content_type: ContentType
) -> list[Mention]:
    """Level words kept only for the field their cue words point to."""
    cues, shared = _cue_fields(content_type), _shared_levels(content_type)
    kept = []
    for mention in candidates:
        said = folded.text[mention.folded[0] : mention.folded[1]]
        if mention.field in cues and (level := _LEVEL.fullmatch(said)):
            owner = _owner(mention, folded.text, cues)
            bare = re.sub(r"(?:ly|s)$", "", level.group())
            if owner != mention.field and (owner is not None or bare in shared):
                continue
        kept.append(mention)
    return kept


def _length(mention: Mention) -> int:
    return mention.folded[1] - mention.folded[0]


def _merged(candidates: list[Mention], text: str, lists: set[str]) -> list[Mention]:
    """Mentions of one field that overlap or touch, agreeing or not alike, as one: "rating of
    5 out of 5 stars" and "low customer rating 1 out of 5" are one statement each (but
    "oatmeal, sage" are two items of a list)."""
    merged: list[Mention] = []
    for mention in sorted(candidates, key=lambda m: (m.field, m.fits, m.guess, m.folded)):
        last = merged[-1] if merged else None
        if (
            last is not None
            and (last.field, last.fits, last.guess) == (mention.field, mention.fits, mention.guess)
            and _JOINED.fullmatch(text[last.folded[1] : mention.folded[0]])
            and (mention.field not in lists or mention.value == last.value)
        ):
            end, folded_end = max(last.end, mention.end), max(last.folded[1], mention.folded[1])
            value = max(last, mention, key=_length).value
            merged[-1] = replace(last, value=value, end=end, folded=(last.folded[0], folded_end))
        else:
            merged.append(mention)
    return merged


def _apart(one: Mention, other: Mention) -> bool:
    return one.folded[1] <= other.folded[0] or other.folded[1] <= one.folded[0]


def _settled(candidates: list[Mention]) -> list[Mention]:
    """Longest first, the record's own value first at equal length; overlaps dropped (a
    guessed place, whatever its length, by any vocabulary mention)."""
    vocabulary = [m for m in candidates if not m.guess]
    kept: list[Mention] = []
    for mention in sorted(candidates, key=lambda m: (-_length(m), not m.fits, m.folded[0])):
        if all(_apart(mention, k) for k in kept) and (
            not mention.guess or all(_apart(mention, m) for m in vocabulary)
        ):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def _generic(content_type: ContentType, mention: Mention) -> bool:
    """A value naming what every item is: `restaurant` in the restaurant content type."""
    return _fold(mention.value) in content_type.name.split("_")


def find_mentions(text: str, content_type: ContentType, record: dict[str, Any]) -> list[Mention]:
    """Every value of every field the text states, in order, with whether it fits the record."""
    folded = _Folded.of(text)
    types = {field: spec.type for field, spec in content_type.fields.items()}
    lists, boolean = (
        {f for f in types if types[f] == "list"},
        {f for f in types if types[f] == "boolean"},
    )
    candidates = _candidates(text, folded, content_type, record)
    candidates = _attributed(candidates, folded, content_type)
    mentions = _settled(_merged(candidates, folded.text, lists))
    mentions = [m for m in mentions if m.field in boolean or not _denied(folded.text, m)]
    stated = {m.field for m in mentions if m.fits}
    return [
        m
        for m in mentions
        if m.fits
        or not _generic(content_type, m)
        or (record.get(m.field) not in (None, []) and m.field not in stated)
    ]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _finding(
    mention: Mention, text: str, content_type: ContentType, record: dict[str, Any]
) -> CheckFinding:
    field, value = mention.field, record.get(mention.field)
    label, said = _label(field), text[mention.start : mention.end]
    spec = content_type.fields.get(field)
    span = (mention.start, mention.end)
    if spec is not None and spec.type == "boolean":
        stated = f"{'' if mention.value == 'yes' else 'not '}{label}"
        if value is None:
            message = f"says it is {stated}, but the input does not say"
            suggestion = f"do not say whether it is {label}; the input does not say"
        else:
            message = f"says it is {stated}, but {field} is {_shown(value)}"
            suggestion = f"say that it is {'' if value else 'not '}{label}"
        return CheckFinding(CHECK, "error", message, *span, suggestion, field)
    if value in (None, []):
        message = f"mentions {label} {said!r}, which the input does not give"
        suggestion = f"do not mention {label} {said!r}; the input gives none"
    else:
        verb = "are" if isinstance(value, list) else "is"
        message = f"says {label} {said!r}, but the {label} {verb} {_shown(value)}"
        suggestion = f"the {label} {verb} {_shown(value)}, not {said}"
    return CheckFinding(CHECK, "error", message, *span, suggestion, field)


def check_no_invented_values(
    section: SectionPlan,
    text: str,
    content_type: ContentType,
    record: dict[str, Any],
    mentions: list[Mention] | None = None,
) -> list[CheckFinding]:
    """An error for each value the text states that the record does not have: another value
    of a field the record gives (wrong), or any value of a field it lacks (added). Every
    field of the record counts, not only the section's facts: a title must not misstate
    the price either."""
    del section  # the record decides; kept for the signature every check shares
    if mentions is None:
        mentions = find_mentions(text, content_type, record)
    return [_finding(m, text, content_type, record) for m in mentions if not m.fits]
