"""One item in full, as an editor sees it: its record, current text per section with the
findings at their spans (`marked_text`), what the model wrote in each round
(`model_attempts`), the revisions with word-level changes (`word_diff`) and who made them
(`authorship`), reviews and the model calls (lineage). Plain data out (frozen
dataclasses), so the web app, the CLI and tests share it; check ids stay data for the
caller to word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copydesk.content.outline import Outline
from copydesk.desk.authorship import (
    changes_words,
    revision_author_words,
    section_author_words,
)
from copydesk.desk.marked_text import FindingView, Segment, finding_view, highlight
from copydesk.desk.model_attempts import RoundView, model_rounds
from copydesk.desk.review_queue import label_of
from copydesk.desk.word_diff import DiffSegment, word_diff
from copydesk.errors import CopydeskError
from db import repository as repo
from db.models import (
    Asset,
    AuthorKind,
    Finding,
    Generation,
    Item,
    RefineDecision,
    Refinement,
    Revision,
)
from db.session import session_scope


@dataclass(frozen=True)
class SectionView:
    name: str
    format: str
    text: str
    findings: list[FindingView]
    segments: list[Segment]
    facts: dict[str, Any]
    decision: str | None  # the refine stage's decision, for model/refiner text
    author_words: str = ""  # who wrote the current text, in plain words
    discarded_because: list[str] | None = None  # fallback: the checks the model's text failed


@dataclass(frozen=True)
class SectionChange:
    """One section of a revision: its diff from the parent's (or its text, for the first)."""

    section: str
    segments: list[DiffSegment]

    @property
    def changed(self) -> bool:
        return any(s.change != "same" for s in self.segments)


@dataclass(frozen=True)
class RevisionView:
    id: int
    parent_id: int | None
    author_kind: str
    author: str
    created_at: datetime
    text: str
    outputs: dict[str, Any]
    author_words: str  # "the model (version x)", "the template fallback", "editor alice"
    changes_words: str  # what the diff from the parent shows ("" without a parent)
    changes: list[SectionChange]
    generation_round: int | None = None


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
    rounds: list[RoundView]
    same_text_as_before: bool  # the latest regeneration gave back the text it replaced


_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t].*)?\n?", re.MULTILINE)


def shown_sections(revision: Revision, names: Sequence[str]) -> dict[str, str]:
    """A revision's text per section (in `names` order, then any others); a revision
    without section texts is one unnamed section, its Markdown headings dropped."""
    sections = dict(revision.sections or {})
    if not sections:
        return {"": _HEADING.sub("", revision.text).strip()}
    ordered = {name: sections[name] for name in names if name in sections}
    return ordered | sections


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
        plan_row = repo.latest_plan(session=session, item_id=item_id)
        plans = (
            {s.name: s for s in Outline.from_dict(plan_row.outline).sections} if plan_row else {}
        )
        generations = list(
            session.scalars(
                select(Generation).where(Generation.item_id == item_id).order_by(Generation.id)
            )
        )
        refinements = repo.refinements_of(session=session, item_id=item_id)
        reviews = repo.reviews_of(session=session, item_id=item_id)
        rounds = model_rounds(session, item_id, list(plans), generations, refinements, reviews)
        revision_views = _revision_views(revisions, list(plans), rounds, refinements)
        current = revision_views[-1] if revision_views else None
        sections = _sections(session, item, revisions, current, plans, rounds)
        image = session.scalars(
            select(Asset.object_key)
            .where(Asset.item_id == item_id)
            .order_by(Asset.id.desc())
            .limit(1)
        ).first()
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
            current=current,
            sections=sections,
            revisions=revision_views,
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
                for r in reviews
            ],
            generations=[_generation_view(g) for g in generations],
            image_key=image,
            batch_flow_run_id=batch.prefect_flow_run_id,
            rounds=rounds,
            same_text_as_before=_same_text_as_before(revisions, revision_views),
        )


def item_progress(url: str, item_id: int) -> str | None:
    """The item's status (None: no such item), for a page waiting on a regeneration."""
    with session_scope(url, readonly=True) as session:
        return session.scalar(select(Item.status).where(Item.id == item_id))


def _revision_views(
    revisions: list[Revision],
    names: list[str],
    rounds: list[RoundView],
    refinements: list[Refinement],
) -> list[RevisionView]:
    """Each revision with its words and its changes from its parent. The nth model
    revision is the output of the nth round that was decided; the refiner's and editors'
    revisions after it belong to that round."""
    decided_rounds = sorted({r.generation_round for r in refinements})
    decisions = {(r.generation_round, r.section): r.decision for r in refinements}
    versions = {r.number: r.model_version for r in rounds}
    by_id = {r.id: r for r in revisions}
    views: list[RevisionView] = []
    round_, model_count = 0, 0  # round 0: before any decided round
    for revision in revisions:
        if revision.author_kind == AuthorKind.MODEL and decided_rounds:
            round_ = decided_rounds[min(model_count, len(decided_rounds) - 1)]
            model_count += 1
        parent = by_id.get(revision.parent_id) if revision.parent_id else None
        texts = shown_sections(revision, names)
        before = shown_sections(parent, names) if parent is not None else None
        changed = [n for n in texts if before is not None and before.get(n) != texts[n]]
        made = [decisions[(round_, n)] for n in changed if (round_, n) in decisions]
        kind, version = revision.author_kind, versions.get(round_)
        who = revision_author_words(kind, revision.author, version, made)
        views.append(
            RevisionView(
                id=revision.id,
                parent_id=revision.parent_id,
                author_kind=revision.author_kind,
                author=revision.author,
                created_at=revision.created_at,
                text=revision.text,
                outputs=dict(revision.outputs),
                author_words=who,
                changes_words=changes_words(kind, who, made) if before is not None else "",
                changes=[
                    SectionChange(
                        name,
                        word_diff(before.get(name, ""), text)
                        if before is not None
                        else [DiffSegment(text)],
                    )
                    for name, text in texts.items()
                ],
                generation_round=round_ or None,
            )
        )
    return views


def _same_text_as_before(revisions: list[Revision], views: list[RevisionView]) -> bool:
    """Whether the latest round's text (still current: no editor changed it since) is the
    text it replaced: the parent of the round's first revision."""
    if not views or views[-1].author_kind == AuthorKind.EDITOR:
        return False
    latest = views[-1].generation_round
    if latest is None or latest < 2:
        return False
    first = next(v for v in views if v.generation_round == latest)
    before = next((r for r in revisions if r.id == first.parent_id), None)
    if before is None:
        return False
    current = revisions[-1]
    if before.sections and current.sections:
        return dict(before.sections) == dict(current.sections)
    return before.text == current.text


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
    session: Session,
    item: Item,
    revisions: list[Revision],
    current: RevisionView | None,
    plans: dict[str, Any],
    rounds: list[RoundView],
) -> list[SectionView]:
    """The current text per section, with the findings on it and who wrote it (the
    decisions of the round the current text came from)."""
    round_ = current.generation_round if current is not None else None
    refinements = repo.refinements_of(
        session=session, item_id=item.id, generation_round=round_ or item.generation_round
    )
    decisions = {r.section: r.decision for r in refinements}
    editor = None
    if current is not None and current.author_kind == AuthorKind.EDITOR:
        rows = session.scalars(
            select(Finding).where(Finding.revision_id == current.id).order_by(Finding.id)
        )
        decisions, editor = {}, current.author
    else:
        ids = [r.id for r in refinements]
        rows = session.scalars(
            select(Finding).where(Finding.refinement_id.in_(ids)).order_by(Finding.id)
        )
    section_of = {r.id: r.section for r in refinements}
    findings: dict[str | None, list[FindingView]] = {}
    for f in rows:
        section = f.section or section_of.get(f.refinement_id or -1)
        findings.setdefault(section, []).append(finding_view(f, section))
    texts: dict[str, str] = dict(revisions[-1].sections or {}) if revisions else {}
    if not texts:
        texts = {r.section: r.text for r in refinements}
    of_round = next((r for r in rounds if r.number == round_), None)
    attempts = {s.section: s for s in of_round.sections} if of_round is not None else {}
    version = of_round.model_version if of_round is not None else None
    names = list(plans) or list(texts)
    views = []
    for name in names:
        text = texts.get(name, "")
        section_findings = findings.get(name, [])
        plan = plans.get(name)
        decision, tried = decisions.get(name), attempts.get(name)
        failed = tried.discarded_because if tried and decision == RefineDecision.FALLBACK else []
        views.append(
            SectionView(
                name,
                plan.format if plan is not None else "prose",
                text,
                section_findings,
                highlight(text, section_findings),
                dict(plan.facts) if plan is not None else {},
                decision,
                section_author_words(decision, version, editor),
                list(failed),
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
