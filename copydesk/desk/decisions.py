"""Editors' decisions on items: approve, reject, edit, ask for a regeneration.

Every decision names the item version the editor saw (`version`, from the queue or the
item page). A decision on a version that is no longer current — another editor decided
first — raises `ConflictError` and writes nothing: no decision silently overwrites another.
Roles are checked here, server-side, whoever calls (web app or CLI).

An edit becomes an `editor` revision (child of the current one) with its documents in the
store, is re-checked with the content type's checks, and keeps the item in review; an item
whose current text has error findings cannot be approved until an edit fixes them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from copydesk.checks.findings import CheckFinding
from copydesk.checks.suite import run_section_checks
from copydesk.content.outline import Outline, SectionPlan
from copydesk.content.types import load_content_type
from copydesk.desk.editors import EditorInfo, require
from copydesk.desk.review_queue import STATUS_WORDS
from copydesk.errors import CopydeskError
from copydesk.hashing import sha256_text
from copydesk.pipeline.output import store_documents
from copydesk.pipeline.rows import finding_row
from copydesk.storage import ObjectStore
from db import repository as repo
from db.models import (
    AuthorKind,
    Decision,
    Item,
    ItemStatus,
    Review,
    Revision,
    Role,
    utcnow,
)
from db.session import session_scope

MAX_NOTE_CHARS = 4000
# A rejected item can still be sent back to the model with notes.
REGENERABLE = (ItemStatus.PENDING_REVIEW, ItemStatus.REJECTED)
MAX_SECTION_CHARS = 20_000


class ConflictError(CopydeskError):
    """The item changed since the editor loaded it (someone else decided first)."""


class DecisionError(CopydeskError):
    """A decision that is not allowed as asked (missing reason, failing checks, ...)."""


@dataclass(frozen=True)
class Decided:
    item_id: int
    status: str
    version: int  # the item's new version
    review_id: int
    check_errors: int = 0
    findings: tuple[CheckFinding, ...] = ()


@dataclass
class BulkResult:
    approved: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # item id -> why


def approve(url: str, editor: EditorInfo, item_id: int, version: int) -> Decided:
    """Approve the item's current revision (it must have no error findings)."""
    require(editor, Role.EDITOR, "approve")
    with _deciding(url, item_id, version) as (session, item):
        if item.check_errors:
            raise DecisionError(
                f"item {item_id} has {item.check_errors} failing check(s): edit the text until "
                "the checks pass, reject it, or ask for a regeneration"
            )
        return _decide(session, item, editor, Decision.APPROVE, ItemStatus.APPROVED)


def reject(url: str, editor: EditorInfo, item_id: int, version: int, reason: str) -> Decided:
    """Reject the item's current revision; a reason is required."""
    require(editor, Role.EDITOR, "reject")
    reason = _required_text(reason, "a rejection needs a reason")
    with _deciding(url, item_id, version) as (session, item):
        return _decide(session, item, editor, Decision.REJECT, ItemStatus.REJECTED, reason=reason)


def request_regeneration(
    url: str, editor: EditorInfo, item_id: int, version: int, notes: str
) -> Decided:
    """Send the item (in review, or rejected) back for a new attempt; the notes go into the
    prompt of every section.

    The item waits in status `regenerate` until a regeneration run (`copydesk review
    regenerate`, the review app, or the `regenerate-requested` flow) takes it.
    """
    require(editor, Role.EDITOR, "ask for a regeneration")
    notes = _required_text(notes, "a regeneration needs notes for the model")
    with _deciding(url, item_id, version, REGENERABLE) as (session, item):
        return _decide(
            session, item, editor, Decision.REGENERATE, ItemStatus.REGENERATE, reason=notes
        )


def edit(
    url: str,
    editor: EditorInfo,
    item_id: int,
    version: int,
    sections: dict[str, str],
    store: ObjectStore,
) -> Decided:
    """Store the editor's section texts as a new revision and re-check them.

    The item stays in review; `check_errors` on the result says whether it can be approved.
    """
    require(editor, Role.EDITOR, "edit")
    with session_scope(url, readonly=True) as session:
        item = _pending(session, item_id, version)
        content_type = load_content_type(item.batch.content_type)
        plan_row = repo.latest_plan(session=session, item_id=item_id)
        if plan_row is None:
            raise DecisionError(f"item {item_id} has no plan to check an edit against")
        plans = {s.name: s for s in Outline.from_dict(plan_row.outline).sections}
        record, batch_id = dict(item.input_record), item.batch_id
        model = repo.latest_revision(session=session, item_id=item_id, author_kind=AuthorKind.MODEL)
        model_text = model.text if model is not None else ""
    texts = _clean_sections(sections, plans)
    findings = {
        name: run_section_checks(plans[name], text, content_type, record)
        for name, text in texts.items()
    }
    # Documents go to the store with no transaction open; puts are content-addressed.
    markdown, outputs = store_documents(content_type, record, texts, store, batch_id, item_id)
    errors = sum(1 for fs in findings.values() for f in fs if f.severity == "error")
    with _deciding(url, item_id, version) as (session, item):
        revision = Revision(
            item_id=item_id,
            parent=repo.latest_revision(session=session, item_id=item_id),
            author_kind=AuthorKind.EDITOR,
            author=editor.name,
            text=markdown,
            text_sha256=sha256_text(markdown),
            object_key=outputs["markdown"]["key"],
            outputs=outputs,
            sections=texts,
        )
        session.add(revision)
        session.flush()
        for name, section_findings in findings.items():
            for finding in section_findings:
                row = finding_row(item_id, None, finding)
                row.revision_id, row.section = revision.id, name
                session.add(row)
        item.check_errors = errors
        decided = _decide(
            session,
            item,
            editor,
            Decision.EDIT,
            ItemStatus.PENDING_REVIEW,
            revision=revision,
            diff=text_diff(model_text, markdown),
        )
    all_findings = tuple(f for fs in findings.values() for f in fs)
    return Decided(
        decided.item_id, decided.status, decided.version, decided.review_id, errors, all_findings
    )


def bulk_approve(url: str, editor: EditorInfo, items: Sequence[tuple[int, int]]) -> BulkResult:
    """Approve each (item id, version) that is still pending, unchanged and has no failing
    checks; the others are skipped with the reason (one transaction per item)."""
    require(editor, Role.EDITOR, "approve")
    result = BulkResult()
    for item_id, version in items:
        try:
            approve(url, editor, item_id, version)
        except CopydeskError as exc:
            result.skipped[item_id] = str(exc)
        else:
            result.approved.append(item_id)
    return result


def text_diff(before: str, after: str) -> str:
    """A unified diff of two texts, line by line ('model' → 'editor')."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile="model",
        tofile="editor",
    )
    return "".join(lines)


@contextmanager
def _deciding(
    url: str, item_id: int, version: int, statuses: tuple[str, ...] = (ItemStatus.PENDING_REVIEW,)
) -> Iterator[tuple[Session, Item]]:
    """A write transaction on an item at `version` in one of `statuses`; a concurrent
    change → conflict."""
    try:
        with session_scope(url) as session:
            yield session, _pending(session, item_id, version, statuses)
    except StaleDataError as exc:  # another transaction updated the row after we read it
        raise ConflictError(_conflict_message(url, item_id)) from exc


def _pending(
    session: Session,
    item_id: int,
    version: int,
    statuses: tuple[str, ...] = (ItemStatus.PENDING_REVIEW,),
) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise CopydeskError(f"no item {item_id}")
    if item.version != version or item.status not in statuses:
        raise ConflictError(_describe_change(session, item))
    return item


def _decide(
    session: Session,
    item: Item,
    editor: EditorInfo,
    decision: Decision,
    status: ItemStatus,
    *,
    reason: str | None = None,
    revision: Revision | None = None,
    diff: str | None = None,
) -> Decided:
    if revision is None:
        revision = repo.latest_revision(session=session, item_id=item.id)
    review = Review(
        item_id=item.id,
        revision_id=revision.id if revision is not None else None,
        editor_id=editor.id,
        decision=decision,
        reason=reason,
        edit_diff=diff,
    )
    session.add(review)
    item.status = status
    item.updated_at = utcnow()  # always an UPDATE, so the version moves on
    session.flush()
    return Decided(item.id, item.status, item.version, review.id, item.check_errors)


def _describe_change(session: Session, item: Item) -> str:
    last = repo.reviews_of(session=session, item_id=item.id)
    who = f" ({last[-1].decision} by {last[-1].editor.name})" if last else ""
    return (
        f"item {item.id} changed since you loaded it{who}: it is now "
        f"{STATUS_WORDS.get(item.status, item.status)} at "
        f"version {item.version}; reload it and decide again"
    )


def _conflict_message(url: str, item_id: int) -> str:
    with session_scope(url, readonly=True) as session:
        item = session.get(Item, item_id)
        if item is None:
            return f"item {item_id} no longer exists"
        return _describe_change(session, item)


def _required_text(text: str | None, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DecisionError(message)
    if len(text) > MAX_NOTE_CHARS:
        raise DecisionError(f"keep it under {MAX_NOTE_CHARS} characters ({len(text)} given)")
    return text


def _clean_sections(sections: dict[str, str], plans: dict[str, SectionPlan]) -> dict[str, str]:
    unknown = sorted(set(sections) - set(plans))
    if unknown:
        raise DecisionError(f"unknown section(s) {', '.join(unknown)}; expected {', '.join(plans)}")
    missing = [name for name in plans if name not in sections]
    if missing:
        raise DecisionError(f"the edit lacks section(s) {', '.join(missing)}")
    texts = {}
    for name in plans:  # in the content type's order
        text = sections[name].replace("\r\n", "\n").strip()
        if len(text) > MAX_SECTION_CHARS:
            raise DecisionError(f"section {name} is longer than {MAX_SECTION_CHARS} characters")
        texts[name] = text
    return texts
