"""Repository functions and constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from copydesk.hashing import sha256_json
from db import migrate
from db.models import Item, ItemStatus
from db.repository import (
    NewItem,
    add_items,
    count_items_by_status,
    create_batch,
    item_rows,
    list_items,
    move_items,
)
from db.session import get_sessionmaker, session_scope

RECORDS = [
    {"name": "Lampe « Étoile »", "price": "49.00", "currency": "EUR"},
    {"name": "Desk", "price": "120", "currency": "USD"},
    {"name": "Chair", "price": "80", "currency": "USD"},
]


def _new_items(records: list[dict[str, str]], start_row: int = 2) -> list[NewItem]:
    return [
        NewItem(
            source="products.csv",
            row_number=start_row + i,
            input_record=r,
            input_sha256=sha256_json(r),
        )
        for i, r in enumerate(records)
    ]


@pytest.fixture
def migrated(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


def test_reinserting_the_same_input_does_not_duplicate_items(migrated: str) -> None:
    with session_scope(migrated) as session:
        batch_id = create_batch(
            session=session, content_type="product_description", source="products.csv"
        ).id
        assert add_items(session=session, batch_id=batch_id, items=_new_items(RECORDS)) == 3

    with session_scope(migrated) as session:  # a re-run of ingest, plus one new record
        more = [*RECORDS, {"name": "Shelf", "price": "60", "currency": "USD"}]
        assert add_items(session=session, batch_id=batch_id, items=_new_items(more)) == 1

    with session_scope(migrated) as session:
        assert count_items_by_status(session=session, batch_id=batch_id) == {"ingested": 4}
        names = [
            item.input_record["name"] for item in list_items(session=session, batch_id=batch_id)
        ]
        assert names == ["Lampe « Étoile »", "Desk", "Chair", "Shelf"]


def test_same_input_in_another_batch_is_a_new_item(migrated: str) -> None:
    with session_scope(migrated) as session:
        first = create_batch(session=session, content_type="article", source="a.csv").id
        second = create_batch(session=session, content_type="article", source="a.csv").id
        assert add_items(session=session, batch_id=first, items=_new_items(RECORDS)) == 3
        assert add_items(session=session, batch_id=second, items=_new_items(RECORDS)) == 3
        assert session.scalar(select(func.count()).select_from(Item)) == 6


def test_database_enforces_uniqueness(migrated: str) -> None:
    record = RECORDS[0]
    with pytest.raises(IntegrityError), session_scope(migrated) as session:
        batch_id = create_batch(session=session, content_type="article", source="a.csv").id
        for row in (2, 3):
            session.add(
                Item(
                    batch_id=batch_id,
                    source="a.csv",
                    row_number=row,
                    input_record=record,
                    input_sha256=sha256_json(record),
                )
            )
            session.flush()


def test_quarantined_item_keeps_row_field_and_reason(migrated: str) -> None:
    bad = NewItem(
        source="products.csv",
        row_number=7,
        input_record={"name": "", "price": "abc"},
        input_sha256=sha256_json({"name": "", "price": "abc"}),
        status=ItemStatus.QUARANTINED,
        error="price: 'abc' is not a number",
        error_field="price",
    )
    with session_scope(migrated) as session:
        batch_id = create_batch(
            session=session, content_type="product_description", source="products.csv"
        ).id
        add_items(session=session, batch_id=batch_id, items=[bad])
    with session_scope(migrated) as session:
        (item,) = list_items(session=session, batch_id=batch_id, status=ItemStatus.QUARANTINED)
        assert (item.row_number, item.error_field, item.error) == (
            7,
            "price",
            "price: 'abc' is not a number",
        )
        assert item.created_at.tzinfo is not None


def test_concurrent_item_updates_do_not_overwrite_each_other(migrated: str) -> None:
    with session_scope(migrated) as session:
        batch_id = create_batch(session=session, content_type="article", source="a.csv").id
        add_items(session=session, batch_id=batch_id, items=_new_items(RECORDS[:1]))
        item_id = list_items(session=session, batch_id=batch_id)[0].id

    # Two editors open the item (each page load is its own transaction) ...
    make = get_sessionmaker(migrated)
    with make() as first, make() as second:
        mine = first.get_one(Item, item_id)
        first.commit()
        theirs = second.get_one(Item, item_id)
        second.commit()
        # ... then both submit a decision: the second must not silently win.
        mine.status = ItemStatus.APPROVED
        first.commit()
        theirs.status = ItemStatus.REJECTED
        with pytest.raises(StaleDataError):
            second.commit()
    with session_scope(migrated) as session:
        assert session.get_one(Item, item_id).status == ItemStatus.APPROVED


def test_a_stage_moves_only_the_items_still_in_its_status(migrated: str) -> None:
    """`move_items` is a stage's claim: items another run moved on are left alone, and
    each moved item's version goes up, so an editor holding it meets a stale write."""
    with session_scope(migrated) as session:
        batch_id = create_batch(session=session, content_type="article", source="a.csv").id
        add_items(session=session, batch_id=batch_id, items=_new_items(RECORDS))
        ids = [item.id for item in list_items(session=session, batch_id=batch_id)]
    make = get_sessionmaker(migrated)
    with make() as editor:
        held = editor.get_one(Item, ids[0])
        editor.commit()
        with session_scope(migrated) as session:
            session.get_one(Item, ids[2]).status = ItemStatus.PLANNED  # another run's
        with session_scope(migrated) as session:
            moved = move_items(
                session=session,
                ids=ids,
                status=ItemStatus.INGESTED,
                to=ItemStatus.PLANNED,
                error="x",
            )
            assert moved == [(ids[0], 1), (ids[1], 1)]
            assert move_items(session=session, ids=[], status="ingested", to="planned") == []
        held.status = ItemStatus.FAILED
        with pytest.raises(StaleDataError):
            editor.commit()
    with session_scope(migrated) as session:
        rows = item_rows(session=session, ids=ids, status=ItemStatus.PLANNED)
        assert [(row[0], row[3], row[4]) for row in rows] == [
            (item_id, 1, record) for item_id, record in zip(ids, RECORDS, strict=True)
        ]
        items = [session.get_one(Item, item_id) for item_id in ids]
        assert [item.version for item in items] == [2, 2, 2]
        assert [item.error for item in items] == ["x", "x", None]


def test_sqlite_runs_in_wal_mode(tmp_path: pytest.TempPathFactory) -> None:
    url = f"sqlite:///{tmp_path}/wal.db"
    migrate.upgrade(url)
    with session_scope(url) as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
