"""Ingest: stream rows out of CSV / JSONL / JSON files, validate them, make `NewItem`s.

Generators end to end: memory stays flat however large the file. Row numbers are what a
person sees: the line where a CSV row starts (header = line 1), the JSONL line, the 1-based
JSON array index. Bad rows become quarantined items with a reason; the batch goes on. A
file that cannot be read at all (empty, UTF-16, no usable header, not an array) is one
quarantined item with row number 0, so the other files of a batch go on too."""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import IO, Any

from copydesk.content.characters import REFUSED_CHARACTERS, shown
from copydesk.content.types import ContentType
from copydesk.errors import CopydeskError
from copydesk.hashing import canonical_json, sha256_bytes, sha256_json
from copydesk.inputs.records import ValidatedRecord, validate_record
from db.models import ItemStatus
from db.repository import NewItem

SNIFF_CHARS = 64 * 1024


JSON_CHUNK = 1 << 20


MAX_JSON_ELEMENT = 50 * 1024 * 1024


MAX_CELL = 1 << 20  # characters in one CSV cell (the csv module's own limit is 128 Ki)


MAX_DEPTH = 32  # levels of JSON objects and arrays in one record (a record is flat)


KEEP_TEXT = 2000  # characters of an unreadable row, or of each value of a bad one, kept


START_BYTES = 64  # what tells UTF-16 or UTF-32 from UTF-8


FILE_ROW = 0  # the row number of an item that stands for a whole unreadable file


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE"),
)


# (name, the byte lanes that are all NUL for ASCII text, lane width)
_WIDE_LANES = (
    ("UTF-32 LE", (1, 2, 3), 4),
    ("UTF-32 BE", (0, 1, 2), 4),
    ("UTF-16 LE", (1,), 2),
    ("UTF-16 BE", (0,), 2),
)


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # undecodable bytes, as surrogateescape keeps them


_NON_SPACE = re.compile(r"[^ \t\r\n]")


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


def _open_text(path: Path) -> IO[str]:
    # surrogateescape: a byte that is not UTF-8 does not stop the file; its row is quarantined.
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _not_utf8(text: str) -> str | None:
    if (match := _NOT_UTF8.search(text)) is None:
        return None
    return f"not valid UTF-8 (byte 0x{ord(match.group()) - 0xDC00:02X}); save the file as UTF-8"


def _csv_delimiter(path: Path) -> str:
    """`,` `;` tab or `|`, as sniffed. Only the delimiter: quoting is always Excel's (`"`,
    doubled inside), since a value such as `the 'best' mug` can fool the sniffer into
    taking `'` for the quote character and reading every `"`-quoted cell wrong."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with _open_text(path) as handle:
        sample = handle.read(SNIFF_CHARS)
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_problem(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return f"a cell is longer than {MAX_CELL:,} characters"
    return f"not readable as CSV: {exc}"


def _read_csv(path: Path, source: str) -> Iterator[RawRow]:
    csv.field_size_limit(MAX_CELL)  # process-wide; a longer cell fails only its row
    with _open_text(path) as handle:
        reader = csv.reader(handle, csv.excel, delimiter=_csv_delimiter(path))
        try:
            columns = [cell.strip() for cell in next(reader, [])]
        except csv.Error as exc:
            raise IngestError(f"{source}: line 1 (header): {_csv_problem(exc)}") from None
        problem = _not_utf8("".join(columns))
        if problem or not columns or "" in columns or len(set(columns)) != len(columns):
            problem = problem or f"the first line must name every column once, got {shown(columns)}"
            raise IngestError(f"{source}: line 1 (header): {problem}")
        end = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader goes on at the next line
                start, end = end + 1, reader.line_num
                yield RawRow(source, start, None, _csv_problem(exc), "")
                continue
            start, end = end + 1, reader.line_num  # a quoted cell may span lines
            if (joined := "".join(cells)).strip():  # else a blank line
                yield _csv_row(source, start, columns, cells, joined)


def _csv_row(source: str, number: int, columns: list[str], cells: list[str], joined: str) -> RawRow:
    error = _not_utf8(joined)
    if error is None and len(cells) != len(columns):
        error = f"row has {len(cells)} cells, the header has {len(columns)}"
    if error is None:
        return RawRow(source, number, dict(zip(columns, cells, strict=True)))
    return RawRow(source, number, None, error, ",".join(cells)[:KEEP_TEXT])


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON objects and arrays nest more than `limit` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            if level > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return False


def _undecodable(exc: ValueError | RecursionError) -> str:
    """Why json could not decode a value that is not a syntax error."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    return f"not readable as JSON: {str(exc).split(';')[0]}"  # e.g. a 5000-digit number


def _object_row(source: str, number: int, text: str, value: Any) -> RawRow:
    """The row for one decoded JSON value: its data if an object, else why not."""
    problem = _not_utf8(text)
    if problem is None and not isinstance(value, dict):
        problem = f"expected a JSON object, got {type(value).__name__}"
    if problem is None and _deeper_than(value, MAX_DEPTH):
        problem = f"nested more than {MAX_DEPTH} levels deep"
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
            except (ValueError, RecursionError) as exc:
                row = RawRow(source, number, None, _undecodable(exc), text[:KEEP_TEXT])
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
                    too_large = len(buffer) - pos >= MAX_JSON_ELEMENT
                    if not too_large and read_more():
                        continue  # the element may go on in the next chunk
                    size = f"larger than {MAX_JSON_ELEMENT >> 20} MiB"
                    problem = size if too_large else f"not valid JSON: {exc.msg}"
                    yield _rest_skipped(source, index, problem, buffer[pos : pos + KEEP_TEXT])
                    return
                except (ValueError, RecursionError) as exc:
                    problem = _undecodable(exc)
                    yield _rest_skipped(source, index, problem, buffer[pos : pos + KEEP_TEXT])
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


def _rest_skipped(source: str, index: int, problem: str, text: str) -> RawRow:
    return RawRow(source, index, None, f"{problem}; the rest of the file was skipped", text)


_READERS = {".csv": _read_csv, ".tsv": _read_csv, ".json": _read_json_array}


_READERS |= {".jsonl": _read_jsonl, ".ndjson": _read_jsonl}


SUPPORTED_SUFFIXES = tuple(_READERS)


def read_records(path: Path, source: str | None = None) -> Generator[RawRow, None, None]:
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
    return _checked(reader, path, source)


def _checked(
    reader: Callable[[Path, str], Iterator[RawRow]], path: Path, source: str
) -> Generator[RawRow, None, None]:
    _check_start(path, source)
    yield from reader(path, source)


def _check_start(path: Path, source: str) -> None:
    """Refuse a file that is empty (or blank), or UTF-16/UTF-32 rather than UTF-8."""
    with path.open("rb") as handle:
        head = handle.read(START_BYTES)
        if wide := _wide_encoding(head):
            raise IngestError(f"{source}: the file is {wide}, not UTF-8; save it as UTF-8")
        block = head.removeprefix(codecs.BOM_UTF8)
        while not block.strip():  # read on only while all is blank
            if not (block := handle.read(SNIFF_CHARS)):
                blank = " (only blank lines and spaces)" if head else ""
                raise IngestError(f"{source}: the file is empty{blank}; there is nothing to ingest")


def _wide_encoding(head: bytes) -> str | None:
    """`UTF-16 LE (...)` when the first bytes are text in a wider encoding, else None."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return f"{name} (it starts with that byte order mark)"
    sample = head[: len(head) // 4 * 4]
    if len(sample) < 4 or 0 not in sample:
        return None
    for name, lanes, width in _WIDE_LANES:
        text_lanes = set(range(width)) - set(lanes)
        if not any(any(sample[lane::width]) for lane in lanes) and all(
            any(sample[lane::width]) for lane in text_lanes
        ):
            return f"{name} without a byte order mark"
    if sample.count(0) * 4 >= len(sample):
        return "UTF-16 or UTF-32 (a quarter or more of its first bytes are NUL)"
    return None


def ingest_rows(
    path: Path, content_type: ContentType, *, source: str | None = None
) -> Iterator[NewItem]:
    """One item per row: ingested when valid, quarantined with a reason when not.

    Items and errors name the file by `source` when given (an object key), else by its
    path (items) and file name (errors)."""
    label = source or path.name
    rows = read_records(path, source)  # an unknown format or a missing file raises here
    try:
        for row in rows:
            yield _item(row, content_type, label)
    except IngestError as exc:  # the file as a whole: one item says why, the batch goes on
        yield _unreadable_item(RawRow(source or str(path), FILE_ROW, None, str(exc)), str(exc))


def _item(row: RawRow, content_type: ContentType, label: str) -> NewItem:
    if row.data is None:
        return _unreadable_item(row, f"{label}:{row.row_number}: {row.error}")
    result = validate_record(row.data, content_type)
    if isinstance(result, ValidatedRecord):
        return NewItem(row.source, row.row_number, result.record, sha256_json(result.record))
    error = f"{label}:{row.row_number}: {result}"
    return NewItem(
        row.source,
        row.row_number,
        kept(row.data),
        _digest(row.data),
        ItemStatus.QUARANTINED,
        error,
        result.field,
    )


def _unreadable_item(row: RawRow, error: str) -> NewItem:
    """Hashed with its source and row, so two unreadable lines never collide."""
    data = kept({"row_number": row.row_number, "text": row.text or "", "error": row.error})
    digest = sha256_json({**data, "source": row.source})
    return NewItem(row.source, row.row_number, data, digest, ItemStatus.QUARANTINED, error)


def kept(value: Any) -> Any:
    """What a quarantined item keeps of a raw value: what any database can store (refused
    characters, NUL and bytes that were not UTF-8 become U+FFFD; NaN and infinities
    become text) and at most KEEP_TEXT characters of each string."""
    if isinstance(value, str):
        text = REFUSED_CHARACTERS.sub("\ufffd", value)
        return text if len(text) <= KEEP_TEXT else text[:KEEP_TEXT] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {kept(str(key)): kept(item) for key, item in value.items()}
    if isinstance(value, list):
        return [kept(item) for item in value]
    return value


def _digest(value: Any) -> str:
    """sha256 of a raw record as read (unpaired surrogates from JSON escapes included)."""
    return sha256_bytes(canonical_json(value).encode("utf-8", "surrogatepass"))
