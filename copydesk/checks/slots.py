"""Slot error rate, as the E2E NLG challenge defines it: for one text and its input record,
SER = (missing + added + wrong + repeated slots) / slots in the record.

A slot is a field the record gives a value (a list counts as one slot). Per slot, at most
one of missing and wrong:
- wrong: the text states another value of it (`check_no_invented_values`), whether or not
  it also states the right one ("cheap ... £20-25");
- missing: the text does not state its value (`check_facts_present`) and states no other;
- added: a field the record does not give, whose value the text states anyway;
- repeated: the value is stated more than once ("a coffee shop ... the coffee shop", or
  "family-friendly ... welcomes kids"); a list repeats when one item is stated twice.
The name is a slot (missing when the text leaves it out) but never *repeated*: naming the
subject again is ordinary writing, not a slot realised twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from copydesk.checks.consistency import check_facts
from copydesk.checks.invented import find_mentions
from copydesk.content.types import ContentType

_NOT_REPEATED = {"name"}  # the subject; see the module's docstring


@dataclass(frozen=True)
class SlotErrors:
    """The slot errors of one text against its record (field names, in manifest order)."""

    slots: int
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()
    repeated: tuple[str, ...] = ()

    @property
    def errors(self) -> int:
        return len(self.missing) + len(self.added) + len(self.wrong) + len(self.repeated)

    @property
    def rate(self) -> float:
        return self.errors / self.slots if self.slots else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: slots, the four lists of field names, and the error count."""
        kinds = ("missing", "added", "wrong", "repeated")
        return (
            {"slots": self.slots}
            | {k: list(getattr(self, k)) for k in kinds}
            | {"errors": self.errors}
        )


def _given(value: Any) -> bool:
    return value is not None and value != [] and not (isinstance(value, str) and not value.strip())


def slot_errors(record: dict[str, Any], text: str, content_type: ContentType) -> SlotErrors:
    """The slot errors of `text` against `record` (a validated record of `content_type`)."""
    facts = {field: value for field, value in record.items() if _given(value)}
    unstated = {finding.field for finding in check_facts(facts, text, content_type)}
    mentions = find_mentions(text, content_type, record)
    misstated = {m.field for m in mentions if not m.fits}
    said = Counter(m.field for m in mentions if m.fits)
    items = {field: {m.value for m in mentions if m.fits and m.field == field} for field in said}
    repeated = {  # a list repeats when there are more mentions than items mentioned
        field
        for field, count in said.items()
        if field not in _NOT_REPEATED
        and count > (len(items[field]) if isinstance(record.get(field), list) else 1)
    }
    order = list(content_type.fields)
    return SlotErrors(
        slots=len(facts),
        missing=tuple(f for f in order if f in unstated and f not in said and f not in misstated),
        added=tuple(f for f in order if f not in facts and f in misstated),
        wrong=tuple(f for f in order if f in facts and f in misstated),
        repeated=tuple(f for f in order if f in repeated),
    )


def slot_error_rate(results: Iterable[SlotErrors]) -> float:
    """The corpus-level rate: all errors over all slots (0.0 when there are no slots)."""
    errors = slots = 0
    for result in results:
        errors, slots = errors + result.errors, slots + result.slots
    return errors / slots if slots else 0.0
