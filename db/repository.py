"""Small data functions: `fn(*, session, ...)`. They flush but never commit;
the caller's `session_scope()` commits once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import (
    Batch,
    BatchStatus,
    Decision,
    Finding,
    Generation,
    Item,
    ItemStatus,
    Plan,
    Refinement,
    Review,
    Revision,
)


@dataclass(frozen=True)
class NewItem:
    """An input record as ingest hands it to the database."""

    source: str
    row_number: int
    input_record: dict[str, Any]
    input_sha256: str
    status: str = ItemStatus.INGESTED
    error: str | None = None
    error_field: str | None = None


def create_batch(
    *,
    session: Session,
    content_type: str,
    source: str,
    options: dict[str, Any] | None = None,
    name: str | None = None,
    source_sha256: str | None = None,
) -> Batch:
    batch = Batch(
        content_type=content_type,
        source=source,
        options=options or {},
        name=name,
        source_sha256=source_sha256,
        status=BatchStatus.PENDING,
    )
    session.add(batch)
    session.flush()
    return batch


def get_batch(*, session: Session, batch_id: int) -> Batch | None:
    return session.get(Batch, batch_id)


def add_items(*, session: Session, batch_id: int, items: Iterable[NewItem]) -> int:
    """Insert items, skipping any whose input hash the batch already has.

    Idempotent: ingesting the same input twice (a re-run, a resume after a crash)
    leaves one item per distinct record. Returns how many rows were inserted.
    """
    rows = [
        {
            "batch_id": batch_id,
            "source": item.source,
            "row_number": item.row_number,
            "input_record": item.input_record,
            "input_sha256": item.input_sha256,
            "status": item.status,
            "error": item.error,
            "error_field": item.error_field,
            "version": 1,
        }
        for item in items
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    conflict_keys = ["batch_id", "input_sha256"]
    statement: PgInsert | SqliteInsert
    if dialect == "postgresql":
        statement = pg_insert(Item).on_conflict_do_nothing(index_elements=conflict_keys)
    elif dialect == "sqlite":
        statement = sqlite_insert(Item).on_conflict_do_nothing(index_elements=conflict_keys)
    else:
        raise NotImplementedError(f"add_items supports SQLite and PostgreSQL, not {dialect}")
    return len(session.scalars(statement.returning(Item.id), rows).all())


def count_items_by_status(*, session: Session, batch_id: int) -> dict[str, int]:
    query = (
        select(Item.status, func.count())
        .where(Item.batch_id == batch_id)
        .group_by(Item.status)
        .order_by(Item.status)
    )
    return {status: count for status, count in session.execute(query).tuples()}


def list_items(
    *, session: Session, batch_id: int, status: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[Item]:
    query = select(Item).where(Item.batch_id == batch_id).order_by(Item.id)
    if status is not None:
        query = query.where(Item.status == status)
    return session.scalars(query.limit(limit).offset(offset)).all()


def item_ids(
    *, session: Session, batch_id: int, statuses: Sequence[str] | None = None
) -> list[int]:
    """Ids of a batch's items (in input order), optionally only those in `statuses`."""
    query = select(Item.id).where(Item.batch_id == batch_id).order_by(Item.id)
    if statuses is not None:
        query = query.where(Item.status.in_(list(statuses)))
    return list(session.scalars(query))


def items_in_status(*, session: Session, ids: Sequence[int], status: str) -> list[Item]:
    """The items among `ids` that are in `status` (the ones a stage still has to do)."""
    query = select(Item).where(Item.id.in_(list(ids)), Item.status == status).order_by(Item.id)
    return list(session.scalars(query))


def latest_plan(*, session: Session, item_id: int) -> Plan | None:
    query = select(Plan).where(Plan.item_id == item_id).order_by(Plan.id.desc()).limit(1)
    return session.scalars(query).first()


def generations_of(*, session: Session, item_id: int) -> list[Generation]:
    query = select(Generation).where(Generation.item_id == item_id).order_by(Generation.id)
    return list(session.scalars(query))


def error_counts(*, session: Session, generation_ids: Sequence[int]) -> dict[int, int]:
    """Error findings per generation (generations without errors are absent)."""
    query = (
        select(Finding.generation_id, func.count())
        .where(Finding.generation_id.in_(list(generation_ids)), Finding.severity == "error")
        .group_by(Finding.generation_id)
    )
    return {gid: n for gid, n in session.execute(query).tuples() if gid is not None}


def model_revision(*, session: Session, item_id: int) -> Revision | None:
    query = select(Revision).where(Revision.item_id == item_id, Revision.author_kind == "model")
    return session.scalars(query.order_by(Revision.id).limit(1)).first()


def refinements_of(
    *, session: Session, item_id: int, generation_round: int | None = None
) -> list[Refinement]:
    """The refine stage's decisions for an item: one per section and round (or only
    `generation_round`'s)."""
    query = select(Refinement).where(Refinement.item_id == item_id).order_by(Refinement.id)
    if generation_round is not None:
        query = query.where(Refinement.generation_round == generation_round)
    return list(session.scalars(query))


def final_error_count(*, session: Session, refinement_ids: Sequence[int]) -> int:
    """Error findings on the final texts of these refinements."""
    if not refinement_ids:
        return 0
    query = select(func.count()).where(
        Finding.refinement_id.in_(list(refinement_ids)), Finding.severity == "error"
    )
    return int(session.scalar(query) or 0)


def latest_revision(
    *, session: Session, item_id: int, author_kind: str | None = None
) -> Revision | None:
    """The item's current text: its newest revision (or its newest by `author_kind`)."""
    query = select(Revision).where(Revision.item_id == item_id).order_by(Revision.id.desc())
    if author_kind is not None:
        query = query.where(Revision.author_kind == author_kind)
    return session.scalars(query.limit(1)).first()


def reviews_of(*, session: Session, item_id: int) -> list[Review]:
    """An item's reviews, oldest first."""
    query = select(Review).where(Review.item_id == item_id).order_by(Review.id)
    return list(session.scalars(query))


def regeneration_notes(*, session: Session, item_id: int) -> str | None:
    """The notes of the latest regeneration an editor asked for on the item."""
    query = (
        select(Review.reason)
        .where(Review.item_id == item_id, Review.decision == Decision.REGENERATE)
        .order_by(Review.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
