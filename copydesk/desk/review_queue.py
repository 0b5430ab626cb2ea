"""The review queue, as editors work through it: filtered, sorted and paged in SQL, the
content types in use, the next item after one, and an item's label.

Plain data out (frozen dataclasses), so the web app, the CLI and tests share it. The queue
never loads more than a page: a count and one LIMIT/OFFSET query on the `(status, id)`
and `(batch_id, status)` indexes, so it stays fast at 100k items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Select, func, select

from copydesk.content.types import load_content_type
from copydesk.errors import CopydeskError
from db.models import (
    Batch,
    Item,
    ItemStatus,
)
from db.session import session_scope

Sort = Literal["oldest", "newest", "errors"]


SORTS: tuple[Sort, ...] = ("oldest", "newest", "errors")


MAX_PER_PAGE = 200


@dataclass(frozen=True)
class QueueQuery:
    status: str = ItemStatus.PENDING_REVIEW
    batch_id: int | None = None
    content_type: str | None = None
    failing: bool | None = None  # True: only items with failing checks; False: only clean
    sort: Sort = "oldest"
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.status not in {s.value for s in ItemStatus}:
            raise CopydeskError(f"unknown status {self.status!r}")
        if self.sort not in SORTS:
            raise CopydeskError(f"unknown sort {self.sort!r}: one of {', '.join(SORTS)}")
        if self.page < 1 or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise CopydeskError(f"page must be >= 1 and per page 1..{MAX_PER_PAGE}")


@dataclass(frozen=True)
class QueueRow:
    item_id: int
    batch_id: int
    content_type: str
    label: str
    status: str
    check_errors: int
    version: int
    generation_round: int
    updated_at: datetime


@dataclass(frozen=True)
class QueuePage:
    query: QueueQuery
    rows: list[QueueRow]
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))

    @property
    def has_next(self) -> bool:
        return self.query.page < self.pages


def _filtered(statement: Select[Any], query: QueueQuery) -> Select[Any]:
    statement = statement.where(Item.status == query.status)
    if query.batch_id is not None:
        statement = statement.where(Item.batch_id == query.batch_id)
    if query.content_type:
        statement = statement.where(Batch.content_type == query.content_type)
    if query.failing is True:
        statement = statement.where(Item.check_errors > 0)
    elif query.failing is False:
        statement = statement.where(Item.check_errors == 0)
    return statement


def list_queue(url: str, query: QueueQuery) -> QueuePage:
    """One page of items in `query.status`, filtered and sorted."""
    columns = (
        Item.id,
        Item.batch_id,
        Batch.content_type,
        Item.input_record,
        Item.status,
        Item.check_errors,
        Item.version,
        Item.generation_round,
        Item.updated_at,
    )
    order = {
        "oldest": (Item.id.asc(),),
        "newest": (Item.id.desc(),),
        "errors": (Item.check_errors.desc(), Item.id.asc()),
    }[query.sort]
    joined = select(*columns).join(Batch, Batch.id == Item.batch_id)
    page = _filtered(joined, query).order_by(*order)
    page = page.limit(query.per_page).offset((query.page - 1) * query.per_page)
    counted = select(func.count()).select_from(Item)
    if query.content_type:  # the only filter that needs the batch
        counted = counted.join(Batch, Batch.id == Item.batch_id)
    with session_scope(url, readonly=True) as session:
        total = int(session.scalar(_filtered(counted, query)) or 0)
        rows = [
            QueueRow(
                item_id,
                batch_id,
                kind,
                label_of(kind, record),
                status,
                errors,
                version,
                generation_round,
                updated,
            )
            for item_id, batch_id, kind, record, status, errors, version, generation_round, updated in session.execute(
                page
            ).tuples()
        ]
    return QueuePage(query, rows, total)


def content_types_in_use(url: str) -> list[str]:
    with session_scope(url, readonly=True) as session:
        return list(
            session.scalars(select(Batch.content_type).distinct().order_by(Batch.content_type))
        )


def next_in_queue(url: str, after_item_id: int, batch_id: int | None = None) -> int | None:
    """The next item waiting for review after `after_item_id` (wrapping to the first)."""
    with session_scope(url, readonly=True) as session:
        base = select(Item.id).where(Item.status == ItemStatus.PENDING_REVIEW)
        if batch_id is not None:
            base = base.where(Item.batch_id == batch_id)
        after = session.scalar(base.where(Item.id > after_item_id).order_by(Item.id).limit(1))
        if after is not None:
            return int(after)
        first = session.scalar(base.where(Item.id != after_item_id).order_by(Item.id).limit(1))
        return int(first) if first is not None else None


@lru_cache(maxsize=32)
def _label_field(content_type: str) -> str | None:
    try:
        kind = load_content_type(content_type)
    except CopydeskError:
        return None
    for name, spec in kind.fields.items():
        if spec.required and spec.type in {"string", "text"}:
            return name
    return None


def label_of(content_type: str, record: dict[str, Any]) -> str:
    """A short name for an item: its content type's first required text field."""
    field = _label_field(content_type)
    value = record.get(field) if field else None
    if not isinstance(value, str):
        value = next((v for v in record.values() if isinstance(v, str)), "")
    return value if len(value) <= 120 else value[:119] + "…"
