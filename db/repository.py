"""Small data functions: `fn(*, session, ...)`. They flush but never commit;
the caller's `session_scope()` commits once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import (
    Base,
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


def insert_rows(
    *, session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows of `model` (column values) in one batched statement and return their
    ids in the order of `rows`: for many rows that nothing else in the session refers to
    (much cheaper than adding ORM objects one by one)."""
    if not rows:
        return []
    id_column = model.__table__.c.id
    statement = insert(model).returning(id_column, sort_by_parameter_order=True)
    return list(session.scalars(statement, list(rows)))


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


def move_items(
    *, session: Session, ids: Sequence[int], status: str, to: str, **values: Any
) -> list[tuple[int, int]]:
    """Put the items among `ids` that are in `status` into status `to` (and `values`),
    in one statement; return `(id, generation_round)` of each one moved, by id.

    The claim of a stage's write: an item another run moved meanwhile is not among them
    (the statement's WHERE is checked row by row as it updates), and the version goes up
    as an ORM update's would (editors' optimistic locking)."""
    if not ids:
        return []
    statement = (
        update(Item)
        .where(Item.id.in_(list(ids)), Item.status == status)
        .values(status=to, version=Item.version + 1, **values)
        .returning(Item.id, Item.generation_round)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(statement).tuples(), key=lambda row: row[0])


def item_rows(
    *, session: Session, ids: Sequence[int], status: str
) -> list[tuple[int, int, str, int, dict[str, Any]]]:
    """`(id, batch_id, input_sha256, generation_round, input_record)` of the items among
    `ids` in `status`, by id: what a stage reads of them, without ORM objects."""
    query = (
        select(Item.id, Item.batch_id, Item.input_sha256, Item.generation_round, Item.input_record)
        .where(Item.id.in_(list(ids)), Item.status == status)
        .order_by(Item.id)
    )
    return list(session.execute(query).tuples())


def latest_plan(*, session: Session, item_id: int) -> Plan | None:
    query = select(Plan).where(Plan.item_id == item_id).order_by(Plan.id.desc()).limit(1)
    return session.scalars(query).first()


@dataclass(frozen=True)
class GenerationRow:
    """What the stages read of a generation (not its prompt, decoding or lineage)."""

    id: int
    item_id: int
    section: str
    attempt: int
    candidate: int
    generation_round: int
    output: str
    mean_logprob: float | None
    model_id: str


_GENERATION_ROW = [getattr(Generation, column.name) for column in fields(GenerationRow)]


def generations_by_item(
    *, session: Session, item_ids: Sequence[int]
) -> dict[int, list[GenerationRow]]:
    """Several items' generations (model calls) in id order, in one query:
    `{item_id: generations}` (items without generations are absent). Only the columns of
    `GenerationRow`: a stage reads thousands, and loading whole rows cost twice as much."""
    query = select(*_GENERATION_ROW).where(Generation.item_id.in_(list(item_ids)))
    found: dict[int, list[GenerationRow]] = {}
    for row in session.execute(query.order_by(Generation.id)).tuples():
        generation = GenerationRow(*row)
        found.setdefault(generation.item_id, []).append(generation)
    return found


def latest_plans(*, session: Session, item_ids: Sequence[int]) -> dict[int, Plan]:
    """`latest_plan` for several items in one query (items without a plan are absent)."""
    query = select(Plan).where(Plan.item_id.in_(list(item_ids))).order_by(Plan.id)
    return {plan.item_id: plan for plan in session.scalars(query)}  # the newest wins


def item_error_counts(
    *, session: Session, item_ids: Sequence[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Error findings of several items' generations and final texts, in one query:
    `({generation_id: n}, {refinement_id: n})` (those without errors are absent).

    Looked up by item (an indexed column), so the cost does not grow with the table."""
    query = (
        select(Finding.generation_id, Finding.refinement_id, func.count())
        .where(Finding.item_id.in_(list(item_ids)), Finding.severity == "error")
        .group_by(Finding.generation_id, Finding.refinement_id)
    )
    by_generation: dict[int, int] = {}
    by_refinement: dict[int, int] = {}
    for generation_id, refinement_id, count in session.execute(query).tuples():
        if generation_id is not None:
            by_generation[generation_id] = by_generation.get(generation_id, 0) + count
        if refinement_id is not None:
            by_refinement[refinement_id] = by_refinement.get(refinement_id, 0) + count
    return by_generation, by_refinement


def with_model_revision(*, session: Session, item_ids: Sequence[int]) -> set[int]:
    """Those of the items that have a model revision already (in one query)."""
    query = select(Revision.item_id).where(
        Revision.item_id.in_(list(item_ids)), Revision.author_kind == "model"
    )
    return set(session.scalars(query.distinct()))


def refinements_of(
    *, session: Session, item_id: int, generation_round: int | None = None
) -> list[Refinement]:
    """The refine stage's decisions for an item: one per section and round (or only
    `generation_round`'s)."""
    query = select(Refinement).where(Refinement.item_id == item_id).order_by(Refinement.id)
    if generation_round is not None:
        query = query.where(Refinement.generation_round == generation_round)
    return list(session.scalars(query))


def refinements_by_item(
    *, session: Session, item_ids: Sequence[int]
) -> dict[int, list[Refinement]]:
    """`refinements_of` (every round) for several items in one query: `{item_id: refinements}`."""
    query = select(Refinement).where(Refinement.item_id.in_(list(item_ids))).order_by(Refinement.id)
    found: dict[int, list[Refinement]] = {}
    for refinement in session.scalars(query):
        found.setdefault(refinement.item_id, []).append(refinement)
    return found


def latest_revision(
    *, session: Session, item_id: int, author_kind: str | None = None
) -> Revision | None:
    """The item's current text: its newest revision (or its newest by `author_kind`)."""
    query = select(Revision).where(Revision.item_id == item_id).order_by(Revision.id.desc())
    if author_kind is not None:
        query = query.where(Revision.author_kind == author_kind)
    return session.scalars(query.limit(1)).first()


def regeneration_notes_by_item(
    *, session: Session, item_ids: Sequence[int]
) -> dict[int, str | None]:
    """The notes of the latest regeneration an editor asked for on each of several items,
    in one query (items never sent back for a regeneration are absent)."""
    query = (
        select(Review.item_id, Review.reason)
        .where(Review.item_id.in_(list(item_ids)), Review.decision == Decision.REGENERATE)
        .order_by(Review.id)
    )
    return {item_id: reason for item_id, reason in session.execute(query).tuples()}


def reviews_of(*, session: Session, item_id: int) -> list[Review]:
    """An item's reviews, oldest first."""
    query = select(Review).where(Review.item_id == item_id).order_by(Review.id)
    return list(session.scalars(query))
