"""The review queue, as editors work through it: filtered, sorted and paged in SQL, the
content types in use, the next item after one, an item's label, a preview of its text
and its status in an editor's words.

Plain data out (frozen dataclasses), so the web app, the CLI and tests share it. The queue
never loads more than a page: one query for the counts (the filtered total, how many are
left to review, how many were decided today) and one LIMIT/OFFSET query on the
`(status, id)` and `(batch_id, status)` indexes, whose page (and only its page) then looks
up each item's current text, so it stays fast at 100k items.

"Today" is the server's local date: decisions since its local midnight count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Select, func, select

from copydesk.content.types import load_content_type
from copydesk.errors import CopydeskError
from db.models import (
    Batch,
    Decision,
    Item,
    ItemStatus,
    Review,
    Revision,
)
from db.session import session_scope

Sort = Literal["oldest", "newest", "errors"]


SORTS: tuple[Sort, ...] = ("oldest", "newest", "errors")


MAX_PER_PAGE = 200
PREVIEW_CHARS = 140  # of an item's current text, in the queue
_PREVIEW_READ = 1000  # characters of the current text read to make the preview

# Each status as an editor would say it (in the order the queue offers them).
STATUS_WORDS: dict[str, str] = {
    ItemStatus.PENDING_REVIEW: "waiting for review",
    ItemStatus.APPROVED: "approved",
    ItemStatus.REJECTED: "rejected",
    ItemStatus.REGENERATE: "regenerating",
    ItemStatus.PUBLISHED: "published",
    ItemStatus.INGESTED: "received, not written yet",
    ItemStatus.PLANNED: "being written",
    ItemStatus.GENERATED: "being checked",
    ItemStatus.REFINED: "being finished",
    ItemStatus.QUARANTINED: "held back: a problem with the input",
    ItemStatus.FAILED: "failed",
}
# What counts as "decided": an edit leaves the item waiting for review.
DECISIONS = (Decision.APPROVE, Decision.REJECT, Decision.REGENERATE)


@dataclass(frozen=True)
class QueueQuery:
    status: str | None = ItemStatus.PENDING_REVIEW  # None: any status
    batch_id: int | None = None
    content_type: str | None = None
    failing: bool | None = None  # True: only items with failing checks; False: only clean
    sort: Sort = "oldest"
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in {s.value for s in ItemStatus}:
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
    preview: str  # the start of its current text ("" before it has one)


@dataclass(frozen=True)
class QueuePage:
    query: QueueQuery
    rows: list[QueueRow]
    total: int
    left_to_review: int  # waiting for review in the query's batch / content type
    decided_today: int  # approved, rejected or sent back since midnight, same scope

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))

    @property
    def has_next(self) -> bool:
        return self.query.page < self.pages


def _in_scope(statement: Select[Any], query: QueueQuery) -> Select[Any]:
    """The batch and content-type filters (`statement` joins Batch for a content type)."""
    if query.batch_id is not None:
        statement = statement.where(Item.batch_id == query.batch_id)
    if query.content_type:
        statement = statement.where(Batch.content_type == query.content_type)
    return statement


def _filtered(statement: Select[Any], query: QueueQuery) -> Select[Any]:
    statement = _in_scope(statement, query)
    if query.status is not None:
        statement = statement.where(Item.status == query.status)
    if query.failing is True:
        statement = statement.where(Item.check_errors > 0)
    elif query.failing is False:
        statement = statement.where(Item.check_errors == 0)
    return statement


def _ordered(columns: Any, sort: Sort) -> tuple[Any, ...]:
    """The sort on `columns` (the Item class, or a subquery's columns of the same names)."""
    return {
        "oldest": (columns.id.asc(),),
        "newest": (columns.id.desc(),),
        "errors": (columns.check_errors.desc(), columns.id.asc()),
    }[sort]


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight at the start of the server's local date (of `now`), timezone-aware."""
    local = (now or datetime.now()).astimezone()
    return datetime.combine(local.date(), time.min).astimezone()


def _counts(query: QueueQuery, since: datetime) -> Select[Any]:
    """One statement: the filtered total, decided since `since` and, unless it is the
    total, how many are left to review."""
    items = select(func.count()).select_from(Item)
    if query.content_type:  # the only filter that needs the batch
        items = items.join(Batch, Batch.id == Item.batch_id)
    left = _in_scope(items, query).where(Item.status == ItemStatus.PENDING_REVIEW)
    decided = select(func.count()).select_from(Review)
    if query.batch_id is not None or query.content_type:
        decided = decided.join(Item, Item.id == Review.item_id)
    if query.content_type:
        decided = decided.join(Batch, Batch.id == Item.batch_id)
    decided = _in_scope(decided, query).where(
        Review.created_at >= since, Review.decision.in_(DECISIONS)
    )
    counts = [_filtered(items, query).scalar_subquery(), decided.scalar_subquery()]
    if query.status != ItemStatus.PENDING_REVIEW or query.failing is not None:
        counts.append(left.scalar_subquery())  # else the total is what is left
    return select(*counts)


def _page(query: QueueQuery) -> Select[Any]:
    """The page's rows (LIMIT/OFFSET), then the start of each one's current text: its
    newest revision, looked up for the rows of the page only."""
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
    joined = select(*columns).join(Batch, Batch.id == Item.batch_id)
    rows = _filtered(joined, query).order_by(*_ordered(Item, query.sort))
    rows = rows.limit(query.per_page).offset((query.page - 1) * query.per_page)
    page = rows.subquery("page")
    text = (
        select(func.substr(Revision.text, 1, _PREVIEW_READ))
        .where(Revision.item_id == page.c.id)
        .order_by(Revision.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(page, text).order_by(*_ordered(page.c, query.sort))


def list_queue(url: str, query: QueueQuery, *, now: datetime | None = None) -> QueuePage:
    """One page of items in `query.status` (any status for None), filtered and sorted,
    with the counters; "today" is the server's local date of `now`."""
    with session_scope(url, readonly=True) as session:
        total, decided, *left = (
            int(n or 0) for n in session.execute(_counts(query, start_of_today(now))).one()
        )
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
                preview_of(text, cut=text is not None and len(text) >= _PREVIEW_READ),
            )
            for (
                item_id,
                batch_id,
                kind,
                record,
                status,
                errors,
                version,
                generation_round,
                updated,
                text,
            ) in session.execute(_page(query)).tuples()
        ]
    return QueuePage(query, rows, total, left[0] if left else total, decided)


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


_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t].*)?$", re.MULTILINE)


def preview_of(text: str | None, limit: int = PREVIEW_CHARS, *, cut: bool = False) -> str:
    """The start of an item's text for the queue: Markdown heading lines dropped, white
    space collapsed, at most `limit` characters (ending in "…" when shortened, or when
    `cut` says `text` itself was only the start of the text)."""
    words = " ".join(_HEADING.sub(" ", text or "").split())
    if len(words) <= limit:
        return words + "…" if cut and words else words
    shown = words[: limit - 1]
    space = shown.rfind(" ")
    if space >= limit // 2:  # end on a whole word when one ends in the second half
        shown = shown[:space]
    return shown.rstrip(" ,;:.-") + "…"
