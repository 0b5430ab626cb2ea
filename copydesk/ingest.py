"""Ingest: stream rows out of CSV / JSONL / JSON files, validate them, make `NewItem`s.

Generators end to end: memory stays flat however large the file. Row numbers are what a
person sees: the line where a CSV row starts (header = line 1), the JSONL line, the 1-based
JSON array index. Bad rows become quarantined items with a reason; the batch goes on."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count, islice
from pathlib import Path
from typing import IO, Any, TypeVar

from copydesk.content_types import ContentType
from copydesk.errors import CopydeskError
from copydesk.hashing import sha256_json
from db.models import ItemStatus
from db.repository import NewItem

T = TypeVar("T")
SNIFF_CHARS = 64 * 1024
JSON_CHUNK = 1 << 20
MAX_JSON_ELEMENT = 50 * 1024 * 1024
KEEP_TEXT = 2000  # characters of an unreadable row kept for the editor
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # undecodable bytes, as surrogateescape keeps them
_NON_SPACE = re.compile(r"[^ \t\r\n]")
_MR_SLOT = re.compile(r"\s*([^\[\],]+?)\s*\[([^\]]*)\]\s*(?:,|$)")


class IngestError(CopydeskError):
    """The input file as a whole cannot be read (unknown format, no CSV header, ...)."""


@dataclass(frozen=True)
class RawRow:
    """One row as read from the file: its data, or why it could not be read."""

    source: str
    row_number: int
    data: dict[str, Any] | None
    error: str | None = None
    text: str | None = None  # an unreadable row's text (bad bytes as surrogateescape keeps them)


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


def _open_text(path: Path) -> IO[str]:
    # surrogateescape: a byte that is not UTF-8 does not stop the file; its row is quarantined.
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _not_utf8(text: str) -> str | None:
    if (match := _NOT_UTF8.search(text)) is None:
        return None
    return f"not valid UTF-8 (byte 0x{ord(match.group()) - 0xDC00:02X}); save the file as UTF-8"


def _csv_dialect(path: Path) -> type[csv.Dialect] | csv.Dialect:
    if path.suffix.lower() == ".tsv":
        return csv.excel_tab
    with _open_text(path) as handle:
        sample = handle.read(SNIFF_CHARS)
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _read_csv(path: Path, source: str) -> Iterator[RawRow]:
    with _open_text(path) as handle:
        reader = csv.reader(handle, _csv_dialect(path))
        columns = [cell.strip() for cell in next(reader, [])]
        problem = _not_utf8("".join(columns))
        if problem or not columns or "" in columns or len(set(columns)) != len(columns):
            problem = problem or f"the first line must name every column once, got {columns}"
            raise IngestError(f"{source}: line 1 (header): {problem}")
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num  # a quoted cell may span lines
            if not (joined := "".join(cells)).strip():
                continue  # a blank line
            error = _not_utf8(joined)
            if error is None and len(cells) != len(columns):
                error = f"row has {len(cells)} cells, the header has {len(columns)}"
            if error is None:
                yield RawRow(source, start, dict(zip(columns, cells, strict=True)))
            else:
                yield RawRow(source, start, None, error, ",".join(cells)[:KEEP_TEXT])


def _object_row(source: str, number: int, text: str, value: Any) -> RawRow:
    """The row for one decoded JSON value: its data if an object, else why not."""
    problem = _not_utf8(text)
    if problem is None and not isinstance(value, dict):
        problem = f"expected a JSON object, got {type(value).__name__}"
    if problem is None:
        return RawRow(source, number, value)
    return RawRow(source, number, None, problem, text[:KEEP_TEXT])


def _read_jsonl(path: Path, source: str) -> Iterator[RawRow]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not (text := line.strip()):
                continue
            try:
                row = _object_row(source, number, text, json.loads(text))
            except json.JSONDecodeError as exc:
                problem = _not_utf8(text) or f"not valid JSON: {exc.msg} (column {exc.colno})"
                row = RawRow(source, number, None, problem, text[:KEEP_TEXT])
            yield row


def _read_json_array(path: Path, source: str) -> Iterator[RawRow]:
    """Elements of a top-level array, decoded one by one (`raw_decode`) from 1 MiB chunks."""
    decoder = json.JSONDecoder()
    with _open_text(path) as handle:
        buffer, pos = "", 0

        def read_more() -> bool:  # False at the end of the file
            nonlocal buffer, pos
            chunk = handle.read(JSON_CHUNK)
            if chunk:
                buffer, pos = buffer[pos:] + chunk, 0
            return bool(chunk)

        def peek() -> str:  # the next non-space character, not consumed ("" at the end)
            nonlocal pos
            while (found := _NON_SPACE.search(buffer, pos)) is None:
                pos = len(buffer)
                if not read_more():
                    return ""
            pos = found.start()
            return buffer[pos]

        if peek() != "[":
            raise IngestError(f"{source}: a .json file must hold an array of objects")
        pos += 1
        for index in count(1):
            if peek() == "]" and index == 1:
                return
            while True:
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError as exc:
                    if len(buffer) - pos < MAX_JSON_ELEMENT and read_more():
                        continue  # the element may go on in the next chunk
                    error = f"not valid JSON: {exc.msg}; the rest of the file was skipped"
                    yield RawRow(source, index, None, error, buffer[pos : pos + KEEP_TEXT])
                    return
                if end < len(buffer) or not read_more():  # a number may go on, too
                    break
            yield _object_row(source, index, buffer[pos:end], value)
            pos = end
            separator = peek()
            pos += 1
            if separator != ",":
                if separator != "]":
                    problem = f"expected ',' or ']' after element {index}, found {separator!r}"
                    yield RawRow(source, index + 1, None, f"{problem}; the rest was skipped")
                return


_READERS = {".csv": _read_csv, ".tsv": _read_csv, ".json": _read_json_array}
_READERS |= {".jsonl": _read_jsonl, ".ndjson": _read_jsonl}
SUPPORTED_SUFFIXES = tuple(_READERS)


def read_records(path: Path, source: str | None = None) -> Iterator[RawRow]:
    """Rows of a .csv/.tsv, .jsonl/.ndjson or .json (array of objects) file, streamed.

    `source` names the file in rows and errors (default: the path), e.g. the object key
    of a file downloaded from the object store."""
    source = source or str(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(
            f"{source}: unsupported format {path.suffix!r}; use {', '.join(_READERS)}"
        )
    if not path.is_file():
        raise IngestError(f"{source}: no such file")
    return reader(path, source)


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


def ingest_rows(
    path: Path, content_type: ContentType, *, source: str | None = None
) -> Iterator[NewItem]:
    """One item per row: ingested when valid, quarantined with a reason when not.

    Items and errors name the file by `source` when given (an object key), else by its
    path (items) and file name (errors)."""
    label = source or path.name
    for row in read_records(path, source):
        if row.data is None:  # unreadable: hashed with source and row, so lines never collide
            text = _NOT_UTF8.sub("\ufffd", row.text or "")  # storable: bad bytes become U+FFFD
            data = {"row_number": row.row_number, "text": text, "error": row.error}
            digest, problem, field = sha256_json({**data, "source": row.source}), row.error, None
        else:
            result = validate_record(row.data, content_type)
            if isinstance(result, ValidatedRecord):
                yield NewItem(row.source, row.row_number, result.record, sha256_json(result.record))
                continue
            data, problem, field = row.data, str(result), result.field
            digest = sha256_json(data)
        error = f"{label}:{row.row_number}: {problem}"
        yield NewItem(
            row.source, row.row_number, data, digest, ItemStatus.QUARANTINED, error, field
        )


def chunked(iterable: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, reading no further ahead than one chunk."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk
