"""The bad-input corpus (tests/data/bad_inputs/cases.yaml) through the ingest functions.

Every case: each row's status, the field named and the message (which names the file
and row); the rows around a bad one still ingested; values that must come through
intact; every item storable in SQLite and PostgreSQL; and the exit status `copydesk run`
gives, from the check it makes before a batch starts. A subset runs end to end through
the CLI in tests/flows/test_bad_inputs_cli.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from copydesk.cli.batches import _checked_source
from copydesk.content.types import ContentType, load_content_type
from copydesk.errors import CopydeskError
from copydesk.inputs.readers import MAX_JSON_ELEMENT, IngestError, ingest_rows
from copydesk.settings import get_settings
from db import migrate
from db import repository as repo
from db.models import Item
from db.repository import NewItem
from db.session import session_scope

CORPUS = Path(__file__).resolve().parents[2] / "data" / "bad_inputs"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
FILE_CASES = [case for case in CASES if "file" in case]
GENERATED = [case for case in CASES if "generate" in case]
FIFTY_MB = 50_000_000


@cache
def content_type(name: str) -> ContentType:
    return load_content_type(name)


def case_id(case: dict[str, Any]) -> str:
    if "file" in case:
        return str(case["file"])
    return f"{case['generate']['kind']}-{case['generate']['format']}"


def check_items(case: dict[str, Any], path: Path, items: list[NewItem]) -> None:
    """The items are the rows the case expects, each named by file, row and field."""
    assert [item.row_number for item in items] == [row[0] for row in case["rows"]]
    for item, (number, status, *bad) in zip(items, case["rows"], strict=True):
        assert item.status == status, (number, item.error)
        assert item.source == str(path)
        if status == "ingested":
            assert item.error is None and item.error_field is None
            continue
        field, message = bad
        assert item.error_field == field
        where = str(path) if number == 0 else f"{path.name}:{number}"
        assert item.error == f"{where}: {message}"
    for number, values in (case.get("values") or {}).items():
        (item,) = [item for item in items if item.row_number == number]
        assert item.status == "ingested"
        for name, value in values.items():
            assert item.input_record[name] == value, (number, name)


# --- the table itself ------------------------------------------------------------------


def test_the_corpus_is_complete_and_every_file_is_a_case() -> None:
    assert len(CASES) >= 50
    files = {path.name for path in CORPUS.iterdir() if path.name != "cases.yaml"}
    assert files == {case["file"] for case in FILE_CASES}
    for case in CASES:
        assert case["exit"] in (0, 1) and case["family"] and case["note"]
        assert ("rows" in case) != ("raises" in case), case_id(case)
        whole_file = "raises" in case or any(row[0] == 0 for row in case["rows"])
        assert case["exit"] == (1 if whole_file else 0), case_id(case)
    families = {case["family"] for case in CASES}
    assert len(families) >= 15
    assert sum(bool(case.get("cli")) for case in CASES) >= 8


# --- each case through ingest ----------------------------------------------------------


@pytest.mark.parametrize("case", FILE_CASES, ids=case_id)
def test_case(case: dict[str, Any]) -> None:
    path = CORPUS / case["file"]
    kind = content_type(case["type"])
    if "raises" in case:
        with pytest.raises(IngestError) as caught:
            list(ingest_rows(path, kind))
        assert str(caught.value) == f"{path}: {case['raises']}"
        return
    check_items(case, path, list(ingest_rows(path, kind)))


@pytest.mark.parametrize("case", FILE_CASES, ids=case_id)
def test_exit_status_of_copydesk_run(case: dict[str, Any]) -> None:
    """`copydesk run` checks a local file before it starts a batch: a file that cannot be
    read at all is one CopydeskError (exit 1, one line); anything else runs (exit 0)."""
    path = CORPUS / case["file"]
    if case["exit"] == 0:
        assert _checked_source(str(path), get_settings()) == str(path)
        return
    with pytest.raises(CopydeskError) as caught:
        _checked_source(str(path), get_settings())
    expected = case.get("raises") or case["rows"][0][3]
    assert str(caught.value) == f"{path}: {expected}"


def _fifty_mb_file(folder: Path, fmt: str) -> Path:
    """Good row, a row with one huge field, good row; streamed to disk, never held twice."""
    size = MAX_JSON_ELEMENT + (1 << 20) if fmt == "json_over_limit" else FIFTY_MB
    huge = "x" * size
    if fmt == "csv":
        path = folder / "huge.csv"
        path.write_text(f"name,price\nDesk Lamp,45\n{huge},3\nTea Pot,12\n", encoding="utf-8")
        return path
    rows = [{"name": "Desk Lamp", "price": 45}, {"name": huge, "price": 3}]
    rows += [{"name": "Tea Pot", "price": 12}]
    if fmt == "jsonl":
        path = folder / "huge.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        path = folder / "huge.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", GENERATED, ids=case_id)
def test_generated_case(case: dict[str, Any], tmp_path: Path) -> None:
    path = _fifty_mb_file(tmp_path, case["generate"]["format"])
    items = list(ingest_rows(path, content_type(case["type"])))
    check_items(case, path, items)
    for item in items:  # what a quarantined row keeps of a huge value is cut short
        assert len(json.dumps(item.input_record)) < 10_000


# --- stored as they are ----------------------------------------------------------------


def _all_items() -> Iterator[tuple[str, list[NewItem]]]:
    for case in FILE_CASES:
        if "raises" not in case:
            path = CORPUS / case["file"]
            yield case["file"], list(ingest_rows(path, content_type(case["type"])))


def test_every_item_is_storable_and_none_is_lost(database_url: str) -> None:
    """NUL, NaN, unpaired surrogates, 400-digit numbers, markup...: each case's items go
    into SQLite and PostgreSQL (JSONB refuses NUL and NaN) as one batch, none dropped."""
    migrate.upgrade(database_url)
    for name, items in _all_items():
        with session_scope(database_url) as session:
            batch = repo.create_batch(
                session=session, content_type="product_description", source=name, options={}
            )
            batch_id = batch.id
            inserted = repo.add_items(session=session, batch_id=batch_id, items=items)
        assert inserted == len({item.input_sha256 for item in items}) == len(items), name
        with session_scope(database_url, readonly=True) as session:
            stored = session.scalar(
                select(func.count()).select_from(Item).where(Item.batch_id == batch_id)
            )
        assert stored == len(items), name


def test_quarantined_rows_keep_storable_text() -> None:
    """What a quarantined row keeps: refused characters as U+FFFD, NaN as text."""
    path = CORPUS / "jsonl_nul_escape.jsonl"
    bad = [i for i in ingest_rows(path, content_type("product_description")) if i.error_field]
    assert bad[0].input_record == {"name": "Coffee\ufffdMug", "price": 3}
    path = CORPUS / "jsonl_nan_infinity.jsonl"
    bad = [i for i in ingest_rows(path, content_type("product_description")) if i.error_field]
    assert [item.input_record["price"] for item in bad] == ["nan", "inf", "-inf", "inf"]
    assert len({item.input_sha256 for item in bad}) == 4  # Infinity and 1e400 are two rows
