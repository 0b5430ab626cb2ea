"""Editors' feedback as training data: JSON Lines for SFT, preference pairs, or every review.

- `sft`: one record per section of every approved (or published) item: the section's
  prompt as the model got it (the plan's prompt of the round that produced the approved
  text, with that round's regeneration notes; never the retry instructions) and the
  approved text, also as chat `messages`.
- `preference`: `chosen` / `rejected` pairs per section, where the texts differ: an
  editor's approved edit against the model/refiner text it replaced (`edit`); the approved
  text of a later round against the text an editor sent back with notes (`regeneration`)
  or rejected (`rejection`). The prompt is the one the rejected text answered.
- `jsonl`: every review: decision, reason or notes, editor, time, the revision decided on
  (text and sections) and its parent's text, the edit's diff.

Every record carries its lineage ids (item, batch, revision, review, generation, model).
Records stream: items (or reviews) are read in chunks by id, a short read-only
transaction each, so an export of 100k items never holds them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from copydesk.content.outline import Outline
from copydesk.errors import CopydeskError
from copydesk.pipeline.types import with_notes
from db.models import (
    AuthorKind,
    Batch,
    Decision,
    Editor,
    Generation,
    Item,
    ItemStatus,
    Plan,
    Review,
    Revision,
)
from db.session import session_scope

FORMATS = ("sft", "preference", "jsonl")
CHUNK_SIZE = 200  # items (or reviews) per read
FINAL_STATUSES = (ItemStatus.APPROVED, ItemStatus.PUBLISHED)


@dataclass(frozen=True)
class _Revision:
    id: int
    parent_id: int | None
    author_kind: str
    sections: dict[str, str]


@dataclass(frozen=True)
class _Review:
    id: int
    decision: str
    revision_id: int | None
    reason: str | None
    editor: str


@dataclass(frozen=True)
class _FirstAttempt:
    generation_id: int
    model_id: str
    plan_id: int | None


@dataclass
class _History:
    """One approved item's revisions, reviews, first attempts and plans."""

    item_id: int
    batch_id: int
    content_type: str
    revisions: dict[int, _Revision] = field(default_factory=dict)
    reviews: list[_Review] = field(default_factory=list)
    first_attempts: dict[tuple[str, int], _FirstAttempt] = field(default_factory=dict)
    prompts: dict[int, dict[str, str]] = field(default_factory=dict)  # plan id -> prompts
    latest_plan: int | None = None

    def approval(self) -> _Review | None:
        approvals = [r for r in self.reviews if r.decision == Decision.APPROVE]
        return approvals[-1] if approvals and approvals[-1].revision_id is not None else None

    def round_of(self, revision_id: int) -> int:
        """A revision's generation round: each later round's model revision is the child of
        the revision before it (a first round's has no parent)."""
        rounds, revision = 1, self.revisions.get(revision_id)
        while revision is not None:
            if revision.author_kind == AuthorKind.MODEL and revision.parent_id is not None:
                rounds += 1
            revision = self.revisions.get(revision.parent_id) if revision.parent_id else None
        return rounds

    def notes(self, generation_round: int) -> str | None:
        """The notes an editor sent the round's model with (the round before's request)."""
        for review in self.reviews:
            if (
                review.decision == Decision.REGENERATE
                and review.revision_id is not None
                and self.round_of(review.revision_id) + 1 == generation_round
            ):
                return review.reason
        return None

    def prompt(self, section: str, generation_round: int) -> tuple[str, _FirstAttempt | None]:
        """The section's prompt in the round (as the model got it), and its first attempt."""
        first = self.first_attempts.get((section, generation_round))
        plan_id = first.plan_id if first is not None and first.plan_id else self.latest_plan
        base = self.prompts.get(plan_id, {}).get(section, "") if plan_id else ""
        return with_notes(base, self.notes(generation_round)), first

    def generated_base(self, revision: _Revision) -> _Revision | None:
        """The model/refiner revision an editor's revision (or chain of them) replaced."""
        current: _Revision | None = revision
        while current is not None and current.author_kind == AuthorKind.EDITOR:
            current = self.revisions.get(current.parent_id) if current.parent_id else None
        return current


def export_feedback(url: str, fmt: str, *, batch_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Feedback records in format `fmt` (`sft`, `preference` or `jsonl`), streamed."""
    if fmt not in FORMATS:
        raise CopydeskError(f"unknown feedback format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        return _review_records(url, batch_id)
    build = _sft_records if fmt == "sft" else _preference_records
    return (record for history in _histories(url, batch_id) for record in build(history))


def write_feedback(
    url: str, fmt: str, path_or_stream: str | Path | IO[str], batch_id: int | None = None
) -> int:
    """Write the records as JSON Lines (UTF-8) to a file or a text stream; return how many.

    A file is written beside its final name and moved into place when complete.
    """
    records = export_feedback(url, fmt, batch_id=batch_id)
    if not isinstance(path_or_stream, str | Path):
        return _write_lines(records, path_or_stream)
    path = Path(path_or_stream)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            count = _write_lines(records, handle)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count


def _write_lines(records: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    count = 0
    for record in records:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    handle.flush()
    return count


# --- sft and preference: approved items' histories, a chunk at a time -------------------


def _histories(url: str, batch_id: int | None) -> Iterator[_History]:
    after = 0
    while True:
        with session_scope(url, readonly=True) as session:
            chunk = _history_chunk(session, batch_id, after)
        if not chunk:
            return
        after = chunk[-1].item_id
        yield from chunk


def _history_chunk(session: Session, batch_id: int | None, after: int) -> list[_History]:
    query = (
        select(Item.id, Item.batch_id, Batch.content_type)
        .join(Batch, Batch.id == Item.batch_id)
        .where(Item.status.in_(FINAL_STATUSES), Item.id > after)
        .order_by(Item.id)
        .limit(CHUNK_SIZE)
    )
    if batch_id is not None:
        query = query.where(Item.batch_id == batch_id)
    histories = {
        item_id: _History(item_id, batch, kind)
        for item_id, batch, kind in session.execute(query).tuples()
    }
    ids = list(histories)
    revisions = select(
        Revision.item_id, Revision.id, Revision.parent_id, Revision.author_kind, Revision.sections
    ).where(Revision.item_id.in_(ids))
    for item_id, revision_id, parent_id, author_kind, sections in session.execute(revisions):
        histories[item_id].revisions[revision_id] = _Revision(
            revision_id, parent_id, author_kind, dict(sections or {})
        )
    reviews = (
        select(Review.item_id, Review.id, Review.decision, Review.revision_id, Review.reason)
        .add_columns(Editor.name)
        .join(Editor, Editor.id == Review.editor_id)
        .where(Review.item_id.in_(ids))
        .order_by(Review.id)
    )
    for item_id, *review in session.execute(reviews):
        histories[item_id].reviews.append(_Review(*review))
    generations = (
        select(
            Generation.item_id,
            Generation.section,
            Generation.generation_round,
            Generation.id,
            Generation.model_id,
            Generation.plan_id,
        )
        .where(Generation.item_id.in_(ids))
        # so each round's first attempt (its first candidate) is kept
        .order_by(Generation.attempt.desc(), Generation.candidate.desc())
    )
    for item_id, section, generation_round, *first in session.execute(generations):
        histories[item_id].first_attempts[(section, generation_round)] = _FirstAttempt(*first)
    plans = select(Plan.item_id, Plan.id, Plan.outline).where(Plan.item_id.in_(ids))
    for item_id, plan_id, outline in session.execute(plans.order_by(Plan.id)):
        history = histories[item_id]
        sections = Outline.from_dict(outline).sections
        history.prompts[plan_id] = {s.name: s.prompt for s in sections}
        history.latest_plan = plan_id
    return list(histories.values())


def _lineage(history: _History, approval: _Review, section: str) -> dict[str, Any]:
    return {
        "item_id": history.item_id,
        "batch_id": history.batch_id,
        "content_type": history.content_type,
        "section": section,
        "revision_id": approval.revision_id,
        "review_id": approval.id,
        "editor": approval.editor,
    }


def _sft_records(history: _History) -> Iterator[dict[str, Any]]:
    approval = history.approval()
    if approval is None or approval.revision_id not in history.revisions:
        return
    approved = history.revisions[approval.revision_id]
    generation_round = history.round_of(approved.id)
    for section, completion in approved.sections.items():
        prompt, first = history.prompt(section, generation_round)
        yield {
            "prompt": prompt,
            "completion": completion,
            "messages": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": completion},
            ],
            **_lineage(history, approval, section),
            "generation_id": first.generation_id if first else None,
            "model_id": first.model_id if first else None,
            "generation_round": generation_round,
            "author_kind": approved.author_kind,
        }


def _preference_records(history: _History) -> Iterator[dict[str, Any]]:
    approval = history.approval()
    if approval is None or approval.revision_id not in history.revisions:
        return
    chosen = history.revisions[approval.revision_id]
    chosen_round = history.round_of(chosen.id)
    if chosen.author_kind == AuthorKind.EDITOR:
        base = history.generated_base(chosen)
        if base is not None:
            yield from _pairs(history, approval, chosen, base, "edit", None)
    sources: dict[str, str] = {Decision.REGENERATE: "regeneration", Decision.REJECT: "rejection"}
    paired: set[int] = set()  # a text rejected and then sent back gives one pair
    for review in history.reviews:
        source = sources.get(review.decision) if review.id < approval.id else None
        sent_back = history.revisions.get(review.revision_id or -1)
        if (
            source
            and sent_back
            and sent_back.id not in paired
            and history.round_of(sent_back.id) < chosen_round
        ):
            paired.add(sent_back.id)
            yield from _pairs(history, approval, chosen, sent_back, source, review)


def _pairs(
    history: _History,
    approval: _Review,
    chosen: _Revision,
    rejected: _Revision,
    source: str,
    review: _Review | None,
) -> Iterator[dict[str, Any]]:
    """A pair per section whose texts differ; the prompt is the one `rejected` answered."""
    rejected_round = history.round_of(rejected.id)
    for section, chosen_text in chosen.sections.items():
        rejected_text = rejected.sections.get(section)
        if rejected_text is None or rejected_text.strip() == chosen_text.strip():
            continue
        prompt, first = history.prompt(section, rejected_round)
        yield {
            "prompt": prompt,
            "chosen": chosen_text,
            "rejected": rejected_text,
            "source": source,
            **_lineage(history, approval, section),
            "rejected_revision_id": rejected.id,
            "rejected_author_kind": rejected.author_kind,  # model, refiner or editor
            "rejected_review_id": review.id if review else None,
            "reason": review.reason if review else None,
            "generation_id": first.generation_id if first else None,
            "model_id": first.model_id if first else None,
            "generation_round": rejected_round,
        }


# --- jsonl: every review ------------------------------------------------------------------


def _review_records(url: str, batch_id: int | None) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        with session_scope(url, readonly=True) as session:
            records = _review_chunk(session, batch_id, after)
        if not records:
            return
        after = records[-1]["review_id"]
        yield from records


def _review_chunk(session: Session, batch_id: int | None, after: int) -> list[dict[str, Any]]:
    parent = aliased(Revision)
    query = (
        select(
            Review.id,
            Review.item_id,
            Item.batch_id,
            Batch.content_type,
            Review.decision,
            Review.reason,
            Editor.name,
            Review.created_at,
            Review.revision_id,
            Revision.author_kind,
            Revision.text,
            Revision.sections,
            Revision.parent_id,
            parent.text,
            Review.edit_diff,
        )
        .join(Item, Item.id == Review.item_id)
        .join(Batch, Batch.id == Item.batch_id)
        .join(Editor, Editor.id == Review.editor_id)
        .outerjoin(Revision, Revision.id == Review.revision_id)
        .outerjoin(parent, parent.id == Revision.parent_id)
        .where(Review.id > after)
        .order_by(Review.id)
        .limit(CHUNK_SIZE)
    )
    if batch_id is not None:
        query = query.where(Item.batch_id == batch_id)
    return [_review_record(row) for row in session.execute(query).tuples()]


def _review_record(row: Sequence[Any]) -> dict[str, Any]:
    (review_id, item_id, batch_id, content_type, decision, reason, editor, created_at) = row[:8]
    revision_id, author_kind, text, sections, parent_id, parent_text, edit_diff = row[8:]
    return {
        "review_id": review_id,
        "item_id": item_id,
        "batch_id": batch_id,
        "content_type": content_type,
        "decision": decision,
        "reason": reason,
        "editor": editor,
        "created_at": created_at.isoformat(),
        "revision_id": revision_id,
        "author_kind": author_kind,
        "text": text,
        # A list, not a mapping: one schema for every content type's section names.
        "sections": [{"section": name, "text": value} for name, value in (sections or {}).items()],
        "parent_revision_id": parent_id,
        "parent_text": parent_text,
        "edit_diff": edit_diff,
    }
