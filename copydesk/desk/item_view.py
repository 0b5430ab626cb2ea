"""One item in full, as an editor sees it: its record, current text per section with the
findings at their spans, revisions, reviews and the model attempts (lineage). Plain data
out (frozen dataclasses), so the web app, the CLI and tests share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copydesk.content.outline import Outline
from copydesk.desk.decisions import text_diff
from copydesk.desk.review_queue import label_of
from copydesk.errors import CopydeskError
from db import repository as repo
from db.models import (
    Asset,
    AuthorKind,
    Finding,
    Generation,
    Item,
    Revision,
)
from db.session import session_scope


@dataclass(frozen=True)
class FindingView:
    section: str | None
    check: str
    severity: str
    message: str
    suggestion: str | None
    span_start: int | None
    span_end: int | None


@dataclass(frozen=True)
class Segment:
    """A piece of a section's text; `finding` indexes the section's findings when marked."""

    text: str
    finding: int | None = None


@dataclass(frozen=True)
class SectionView:
    name: str
    format: str
    text: str
    findings: list[FindingView]
    segments: list[Segment]
    facts: dict[str, Any]
    decision: str | None  # the refine stage's decision, for model/refiner text


@dataclass(frozen=True)
class RevisionView:
    id: int
    parent_id: int | None
    author_kind: str
    author: str
    created_at: datetime
    text: str
    diff_from_parent: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class ReviewView:
    id: int
    editor: str
    decision: str
    reason: str | None
    edit_diff: str | None
    revision_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class GenerationView:
    id: int
    section: str
    attempt: int
    generation_round: int
    backend: str
    model_id: str
    model_revision: str | None
    model_version: str | None  # the tuned version's name (None: the base model)
    decoding: dict[str, Any]
    seed: int | None
    prompt: str
    prompt_sha256: str
    device: str | None
    duration_s: float | None
    prefect_flow_run_id: str | None
    prefect_task_run_id: str | None
    candidate: int = 0  # of the attempt's candidates (0: the greedy one)
    mean_logprob: float | None = None


@dataclass(frozen=True)
class ItemDetail:
    item_id: int
    batch_id: int
    batch_name: str | None
    content_type: str
    label: str
    status: str
    version: int
    check_errors: int
    generation_round: int
    error: str | None
    source: str
    row_number: int
    input_sha256: str
    record: dict[str, Any]
    template_sha256: str | None
    current: RevisionView | None
    sections: list[SectionView]
    revisions: list[RevisionView]
    reviews: list[ReviewView]
    generations: list[GenerationView]
    image_key: str | None
    batch_flow_run_id: str | None


def highlight(text: str, findings: list[FindingView]) -> list[Segment]:
    """Split `text` into plain and marked segments at the findings' spans (overlaps: the
    earlier finding keeps the overlap; spans outside the text are ignored)."""
    spans = sorted(
        (f.span_start, f.span_end, index)
        for index, f in enumerate(findings)
        if f.span_start is not None
        and f.span_end is not None
        and 0 <= f.span_start < f.span_end <= len(text)
    )
    segments, cursor = [], 0
    for start, end, index in spans:
        if end <= cursor:
            continue
        start = max(start, cursor)
        if start > cursor:
            segments.append(Segment(text[cursor:start]))
        segments.append(Segment(text[start:end], index))
        cursor = end
    if cursor < len(text):
        segments.append(Segment(text[cursor:]))
    return segments


def item_detail(url: str, item_id: int) -> ItemDetail:
    """Everything the item page and `copydesk review show` display."""
    with session_scope(url, readonly=True) as session:
        item = session.get(Item, item_id)
        if item is None:
            raise CopydeskError(f"no item {item_id}")
        batch = item.batch
        revisions = list(
            session.scalars(
                select(Revision).where(Revision.item_id == item_id).order_by(Revision.id)
            )
        )
        current = revisions[-1] if revisions else None
        plan_row = repo.latest_plan(session=session, item_id=item_id)
        plans = (
            {s.name: s for s in Outline.from_dict(plan_row.outline).sections} if plan_row else {}
        )
        sections = _sections(session, item, current, plans)
        by_id = {r.id: r for r in revisions}
        image = session.scalars(
            select(Asset.object_key)
            .where(Asset.item_id == item_id)
            .order_by(Asset.id.desc())
            .limit(1)
        ).first()
        generations = session.scalars(
            select(Generation).where(Generation.item_id == item_id).order_by(Generation.id)
        )
        return ItemDetail(
            item_id=item.id,
            batch_id=item.batch_id,
            batch_name=batch.name,
            content_type=batch.content_type,
            label=label_of(batch.content_type, item.input_record),
            status=item.status,
            version=item.version,
            check_errors=item.check_errors,
            generation_round=item.generation_round,
            error=item.error,
            source=item.source,
            row_number=item.row_number,
            input_sha256=item.input_sha256,
            record=dict(item.input_record),
            template_sha256=plan_row.template_sha256 if plan_row else None,
            current=_revision_view(current, by_id) if current else None,
            sections=sections,
            revisions=[_revision_view(r, by_id) for r in revisions],
            reviews=[
                ReviewView(
                    r.id,
                    r.editor.name,
                    r.decision,
                    r.reason,
                    r.edit_diff,
                    r.revision_id,
                    r.created_at,
                )
                for r in repo.reviews_of(session=session, item_id=item_id)
            ],
            generations=[_generation_view(g) for g in generations],
            image_key=image,
            batch_flow_run_id=batch.prefect_flow_run_id,
        )


def _revision_view(revision: Revision, by_id: dict[int, Revision]) -> RevisionView:
    parent = by_id.get(revision.parent_id) if revision.parent_id else None
    diff = text_diff(parent.text, revision.text) if parent is not None else ""
    return RevisionView(
        revision.id,
        revision.parent_id,
        revision.author_kind,
        revision.author,
        revision.created_at,
        revision.text,
        diff,
        dict(revision.outputs),
    )


def _generation_view(g: Generation) -> GenerationView:
    return GenerationView(
        g.id,
        g.section,
        g.attempt,
        g.generation_round,
        g.backend,
        g.model_id,
        g.model_revision,
        g.model_version.name if g.model_version is not None else None,
        dict(g.decoding),
        g.seed,
        g.prompt,
        g.prompt_sha256,
        g.device,
        g.duration_s,
        g.prefect_flow_run_id,
        g.prefect_task_run_id,
        g.candidate,
        g.mean_logprob,
    )


def _sections(
    session: Session, item: Item, current: Revision | None, plans: dict[str, Any]
) -> list[SectionView]:
    """The current text per section, with the findings on it."""
    refinements = repo.refinements_of(
        session=session, item_id=item.id, generation_round=item.generation_round
    )
    decisions = {r.section: r.decision for r in refinements}
    if current is not None and current.author_kind == AuthorKind.EDITOR:
        rows = session.scalars(
            select(Finding).where(Finding.revision_id == current.id).order_by(Finding.id)
        )
        decisions = {}
    else:
        ids = [r.id for r in refinements]
        rows = session.scalars(
            select(Finding).where(Finding.refinement_id.in_(ids)).order_by(Finding.id)
        )
    section_of = {r.id: r.section for r in refinements}
    findings: dict[str | None, list[FindingView]] = {}
    for f in rows:
        section = f.section or section_of.get(f.refinement_id or -1)
        findings.setdefault(section, []).append(
            FindingView(
                section, f.check, f.severity, f.message, f.suggestion, f.span_start, f.span_end
            )
        )
    texts: dict[str, str] = (
        dict(current.sections) if current is not None and current.sections else {}
    )
    if not texts:
        texts = {r.section: r.text for r in refinements}
    names = list(plans) or list(texts)
    views = []
    for name in names:
        text = texts.get(name, "")
        section_findings = findings.get(name, [])
        plan = plans.get(name)
        views.append(
            SectionView(
                name,
                plan.format if plan is not None else "prose",
                text,
                section_findings,
                highlight(text, section_findings),
                dict(plan.facts) if plan is not None else {},
                decisions.get(name),
            )
        )
    return views


def latest_image(url: str, item_id: int) -> tuple[str, str] | None:
    """(object key, media type) of the item's newest image, or None."""
    with session_scope(url, readonly=True) as session:
        row = session.execute(
            select(Asset.object_key, Asset.mime_type)
            .where(Asset.item_id == item_id)
            .order_by(Asset.id.desc())
            .limit(1)
        ).first()
    return (row[0], row[1]) if row is not None else None
