"""Records: a raw row's values checked against a content type's field schema.

`validate_record` gives the record in canonical form (every field present) or every
field that does not fit; `parse_mr` reads an E2E meaning representation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from copydesk.content.types import ContentType

_MR_SLOT = re.compile(r"\s*([^\[\],]+?)\s*\[([^\]]*)\]\s*(?:,|$)")


@dataclass(frozen=True)
class FieldError:
    """Why a record does not fit its content type (the first field, then any others)."""

    field: str
    reason: str
    more: tuple[FieldError, ...] = ()

    def __str__(self) -> str:
        return "; ".join(f"{error.field}: {error.reason}" for error in (self, *self.more))


@dataclass(frozen=True)
class ValidatedRecord:
    """A record in canonical form, with the input columns that were left out of it."""

    record: dict[str, Any]
    ignored: tuple[str, ...] = ()


def parse_mr(text: str) -> dict[str, str]:
    """`name[The Eagle], eatType[coffee shop]` → {"name": "The Eagle", "eatType": "coffee shop"}."""
    slots: dict[str, str] = {}
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _MR_SLOT.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read {text[pos : pos + 40]!r} as attribute[value]")
        attribute, value = match.groups()
        if attribute in slots:
            raise ValueError(f"attribute {attribute!r} appears twice")
        slots[attribute], pos = value, match.end()
    return slots


def _field_values(
    raw: dict[str, Any], content_type: ContentType
) -> tuple[dict[str, Any], tuple[str, ...]] | FieldError:
    """Raw values by field name (keys matched case-insensitively, aliases too), ignored keys."""
    lookup = content_type.key_to_field
    ignored: tuple[str, ...] = ()
    if content_type.input.format == "e2e_mr":
        column = content_type.input.column
        keys = [key for key in raw if key.strip().casefold() == column.casefold()]
        cell = raw[keys[0]] if keys else None
        if not isinstance(cell, str) or not cell.strip():
            return FieldError(column, "missing: this content type reads a meaning representation")
        try:
            raw, ignored = parse_mr(cell), tuple(key for key in raw if key not in keys)
        except ValueError as exc:
            return FieldError(column, str(exc))
        if unknown := [key for key in raw if key.strip().casefold() not in lookup]:
            known = ", ".join(content_type.fields)
            return FieldError(column, f"unknown attribute {unknown[0]!r} (known: {known})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = lookup.get(key.strip().casefold())
        if name is None:
            ignored += (key,)
            continue
        if name in values:
            return FieldError(name, f"given twice (again as {key!r})")
        values[name] = value
    return values, ignored


def validate_record(raw: dict[str, Any], content_type: ContentType) -> ValidatedRecord | FieldError:
    """The record in canonical form (every field present: None when absent, [] for lists),
    or every field that does not fit, the first one first."""
    found = _field_values(raw, content_type)
    if isinstance(found, FieldError):
        return found
    values, ignored = found
    record: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, spec in content_type.fields.items():
        try:
            value = None if (given := values.get(name)) is None else spec.parse(given)
            if value is None and spec.default is not None:
                value = spec.parse(spec.default)
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
            continue
        if value is None and spec.required:
            errors.append(FieldError(name, "required but missing"))
        record[name] = [] if value is None and spec.type == "list" else value
    if errors:
        return FieldError(errors[0].field, errors[0].reason, tuple(errors[1:]))
    return ValidatedRecord(record, ignored)


def record_strings(record: dict[str, Any]) -> list[str]:
    """Every text value of a record (list items one by one)."""
    values = []
    for value in record.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                values.append(item)
    return values
