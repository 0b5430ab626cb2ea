"""The batch pipeline's stages as plain functions: ingest → plan → generate → refine → output.

Each stage works on a chunk of item ids, picks only the items still in the status it
consumes, and commits its chunk in one transaction: a re-run (or a resume after a crash)
skips what was done and never duplicates rows. Prefect run ids arrive as plain strings
(`RunIds`) so the lineage rows can name them; nothing here imports Prefect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from copydesk.checks import Finding as CheckFinding
from copydesk.content_types import ContentType, load_content_type
from copydesk.generation.base import Decoding, GenerationRequest, GenerationResult, TextGenerator
from copydesk.hashing import sha256_text
from copydesk.ingest import chunked
from copydesk.planning import Plan, PlanError, SectionPlan, render_plan
from copydesk.render import render_markdown, render_outputs
from copydesk.sources import ingest_source, parse_source
from copydesk.storage import NewObject, ObjectStore, StoredObject, item_key
from db import repository as repo
from db.models import (
    WORK_STATUSES,
    AuthorKind,
    Batch,
    BatchStatus,
    Finding,
    Generation,
    ItemStatus,
    Revision,
)
from db.models import Plan as PlanRow
from db.session import session_scope

REFINER = "copydesk-refiner"  # the author of refiner revisions


@dataclass(frozen=True)
class RunIds:
    flow_run_id: str | None = None
    task_run_id: str | None = None


@dataclass(frozen=True)
class GenerationOptions:
    """Decoding for every section, and how many attempts refinement may make."""

    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.1
    max_attempts: int = 3
    # Retries sample (with their own seed): greedy decoding of the same prompt would only
    # repeat the previous attempt.
    retry_temperature: float = 0.7
    retry_top_p: float = 0.95

    def decoding(self, section: SectionPlan, *, retry: bool = False) -> Decoding:
        return Decoding(
            max_new_tokens=section.max_new_tokens,
            temperature=max(self.temperature, self.retry_temperature)
            if retry
            else self.temperature,
            top_k=self.top_k,
            top_p=self.retry_top_p if retry and self.top_p is None else self.top_p,
            repetition_penalty=self.repetition_penalty,
        )


@dataclass
class StageCounts:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def seed_for(input_sha256: str, section: str, attempt: int) -> int:
    """A stable seed per item, section and attempt (so re-runs repeat themselves)."""
    digest = hashlib.sha256(f"{input_sha256}:{section}:{attempt}".encode()).hexdigest()
    return int(digest[:15], 16)


def start_batch(
    url: str,
    *,
    content_type: str,
    source: Path | str,
    options: dict[str, Any],
    flow_run_id: str | None = None,
) -> int:
    """Create a batch; for a flow run that already made one (a Prefect retry), return that one."""
    load_content_type(content_type)  # fail early on an unknown type
    with session_scope(url) as session:
        if flow_run_id is not None:
            existing = session.scalars(
                select(Batch.id).where(Batch.prefect_flow_run_id == flow_run_id)
            ).first()
            if existing is not None:
                return existing
        batch = repo.create_batch(
            session=session, content_type=content_type, source=str(source), options=options
        )
        batch.status, batch.started_at = BatchStatus.RUNNING, datetime.now(UTC)
        batch.prefect_flow_run_id = flow_run_id
        return batch.id


def attach_flow_run(url: str, batch_id: int, flow_run_id: str | None) -> None:
    """Record the flow run now working on the batch (the latest one, after a resume)."""
    if flow_run_id is None:
        return
    with session_scope(url) as session:
        batch = session.get_one(Batch, batch_id)
        batch.prefect_flow_run_id, batch.status = flow_run_id, BatchStatus.RUNNING


def ingest_batch(
    url: str,
    batch_id: int,
    *,
    limit: int | None = None,
    chunk_size: int = 500,
    store: ObjectStore | None = None,
) -> StageCounts:
    """Stream the batch's source (a file, or input files in `store`) into items, one
    transaction per chunk of rows."""
    with session_scope(url, readonly=True) as session:
        batch = session.get_one(Batch, batch_id)
        content_type, source = load_content_type(batch.content_type), parse_source(batch.source)
    counts = StageCounts()
    with closing(ingest_source(source, content_type, store)) as rows:
        for chunk in chunked(islice(rows, limit), chunk_size):
            with session_scope(url) as session:
                inserted = repo.add_items(session=session, batch_id=batch_id, items=chunk)
            counts.done += inserted
            counts.skipped += len(chunk) - inserted
            counts.failed += sum(1 for item in chunk if item.status == ItemStatus.QUARANTINED)
    return counts


def plan_chunk(url: str, item_ids: Sequence[int], content_type: ContentType) -> StageCounts:
    counts = StageCounts()
    with session_scope(url) as session:
        plans, failed = {}, {}
        for item_id, *_, record in repo.item_rows(
            session=session, ids=item_ids, status=ItemStatus.INGESTED
        ):
            try:
                plans[item_id] = render_plan(content_type, record)
            except PlanError as exc:
                failed[item_id] = f"plan: {exc}"
        moved = repo.move_items(
            session=session, ids=list(plans), status=ItemStatus.INGESTED, to=ItemStatus.PLANNED
        )
        rows = [
            {
                "item_id": item_id,
                "content_type": plans[item_id].content_type,
                "template_sha256": plans[item_id].template_sha256,
                "outline": plans[item_id].as_dict(),
            }
            for item_id, _ in moved
        ]
        if rows:
            session.execute(insert(PlanRow), rows)  # one statement, not one row at a time
        counts.done = len(moved)
        for item_id, reason in failed.items():
            counts.failed += fail_in_status(session, [item_id], ItemStatus.INGESTED, reason)
    return counts


@dataclass
class Attempt:
    """A section's attempt: an existing generation row (`row_id`) or a new one (`new`)."""

    attempt: int
    output: str
    row_id: int | None = None
    new: int | None = None  # index into the chunk's new generations


@dataclass
class ItemWork:
    item_id: int
    input_sha256: str
    plan_id: int
    sections: tuple[SectionPlan, ...]
    record: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, Attempt] = field(default_factory=dict)
    generation_round: int = 1
    notes: str | None = None  # an editor's notes for a regeneration round

    def next_attempt(self, section: str) -> int:
        """Attempt numbers go on across rounds (a regeneration continues the count)."""
        latest = self.latest.get(section)
        return latest.attempt + 1 if latest is not None else 1

    def prompt(self, section: SectionPlan) -> str:
        return with_notes(section.prompt, self.notes)


def with_notes(prompt: str, notes: str | None) -> str:
    """A section's prompt with an editor's regeneration notes, when there are some."""
    if not notes:
        return prompt
    return f"{prompt}\n\nAn editor read an earlier version and asked for these changes:\n{notes}"


@dataclass
class NewGeneration:
    item_id: int
    plan_id: int
    section: str
    attempt: int
    request: GenerationRequest
    result: GenerationResult
    generation_round: int = 1


def load_work(url: str, item_ids: Sequence[int], status: str) -> tuple[list[ItemWork], list[int]]:
    """Snapshot what a stage needs, in a read-only scope (no lock held afterwards): a
    few queries for the whole chunk."""
    work, missing = [], []
    with session_scope(url, readonly=True) as session:
        items = repo.item_rows(session=session, ids=item_ids, status=status)
        ids = [item_id for item_id, *_ in items]
        plans = repo.latest_plans(session=session, item_ids=ids)
        generations = repo.generations_by_item(session=session, item_ids=ids)
        later_rounds = [item_id for item_id, _, _, round_, _ in items if round_ > 1]
        notes = repo.regeneration_notes_by_item(session=session, item_ids=later_rounds)
        for item_id, _, input_sha256, generation_round, record in items:
            plan_row = plans.get(item_id)
            if plan_row is None:
                missing.append(item_id)
                continue
            sections = Plan.from_dict(plan_row.outline).sections
            unit = ItemWork(item_id, input_sha256, plan_row.id, sections, record)
            unit.generation_round = generation_round
            if generation_round > 1:
                unit.notes = notes.get(item_id)
            for generation in generations.get(item_id, ()):
                unit.latest[generation.section] = Attempt(
                    generation.attempt, generation.output, row_id=generation.id
                )
            work.append(unit)
    return work, missing


def generate_chunk(
    url: str,
    item_ids: Sequence[int],
    generator: TextGenerator,
    options: GenerationOptions,
    run: RunIds,
) -> StageCounts:
    """First attempt (of the item's round) at every section of every planned item in the
    chunk: one batched call.

    The model runs with no transaction open; results are written in one short one.
    """
    work, missing = load_work(url, item_ids, ItemStatus.PLANNED)
    pairs = [
        (unit, section, unit.next_attempt(section.name))
        for unit in work
        for section in unit.sections
    ]
    requests = [
        GenerationRequest.chat(
            u.prompt(s), decoding=options.decoding(s), seed=seed_for(u.input_sha256, s.name, n)
        )
        for u, s, n in pairs
    ]
    results = generator.generate(requests)
    new = [
        NewGeneration(u.item_id, u.plan_id, s.name, n, request, result, u.generation_round)
        for (u, s, n), request, result in zip(pairs, requests, results, strict=True)
    ]
    return _write_generations(url, [u.item_id for u in work], missing, new, generator, run)


def _write_generations(
    url: str,
    item_ids: list[int],
    missing_plan: list[int],
    new: list[NewGeneration],
    generator: TextGenerator,
    run: RunIds,
) -> StageCounts:
    """Write first attempts for the items still planned (another run may have won)."""
    counts = StageCounts()
    with session_scope(url) as session:
        moved = repo.move_items(
            session=session, ids=item_ids, status=ItemStatus.PLANNED, to=ItemStatus.GENERATED
        )
        items = {item_id for item_id, _ in moved}
        rows = [generation_values(g, generator, run) for g in new if g.item_id in items]
        if rows:
            session.execute(insert(Generation), rows)  # one statement, not one row at a time
        counts.done = len(moved)
        counts.failed = fail_in_status(
            session, missing_plan, ItemStatus.PLANNED, "the item has no plan"
        )
    return counts


@dataclass(frozen=True)
class _OutputWork:
    item_id: int
    batch_id: int
    record: dict[str, Any]
    final: dict[str, str]  # section -> the refined text
    model: dict[str, Generation]  # section -> the model attempt it came from (or the best)
    refined: bool  # whether the refiner changed any section
    generation_round: int = 1
    check_errors: int = 0  # error findings on the final text


def _output_snapshot(url: str, item_ids: Sequence[int]) -> list[_OutputWork]:
    with session_scope(url, readonly=True) as session:
        items = repo.item_rows(session=session, ids=item_ids, status=ItemStatus.REFINED)
        ids = [item_id for item_id, *_ in items]
        generations = repo.generations_by_item(session=session, item_ids=ids)
        refinements = repo.refinements_by_item(session=session, item_ids=ids)
        errors, final_errors = repo.item_error_counts(session=session, item_ids=ids)
        work = []
        for item_id, batch_id, _, generation_round, record in items:
            of_item = generations.get(item_id, [])
            best = best_generations(of_item, generation_round, errors)
            by_id = {g.id: g for g in of_item}
            decisions = [
                r for r in refinements.get(item_id, ()) if r.generation_round == generation_round
            ]
            final = {name: g.output for name, g in best.items()}
            final |= {r.section: r.text for r in decisions}
            model = best | {
                r.section: by_id[r.generation_id] for r in decisions if r.generation_id in by_id
            }
            refined = any(r.text != model[r.section].output for r in decisions)
            work.append(
                _OutputWork(
                    item_id,
                    batch_id,
                    record,
                    final,
                    model,
                    refined,
                    generation_round,
                    sum(final_errors.get(r.id, 0) for r in decisions),
                )
            )
    return work


def _revision(
    item_id: int, kind: str, author: str, markdown: str, sections: dict[str, str]
) -> dict[str, Any]:
    """A `revisions` row (column values; `parent_id` is set when it is written)."""
    return {
        "item_id": item_id,
        "author_kind": kind,
        "author": author,
        "text": markdown,
        "text_sha256": sha256_text(markdown),
        "object_key": None,
        "outputs": {},
        "sections": dict(sections),
    }


def render_documents(
    content_type: ContentType,
    record: dict[str, Any],
    sections: dict[str, str],
    batch_id: int,
    item_id: int,
) -> tuple[str, list[tuple[str, NewObject]]]:
    """Render an item's documents from its section texts, each under a content-addressed
    name: the Markdown, and `[(format, object to put)]`."""
    documents = render_outputs(content_type, record, sections)
    objects = []
    for document in documents:
        text_hash = hashlib.sha256(document.data).hexdigest()[:16]
        key = item_key(batch_id, item_id, f"{text_hash}.{document.extension}")
        objects.append((document.format, NewObject(key, document.data, document.media_type)))
    markdown = next(d for d in documents if d.format == "markdown").data.decode()
    return markdown, objects


def _outputs(
    objects: Sequence[tuple[str, NewObject]], stored: Sequence[StoredObject]
) -> dict[str, dict[str, str]]:
    """`{format: {key, sha256}}` of an item's stored documents."""
    return {
        format: {"key": obj.key, "sha256": obj.sha256}
        for (format, _), obj in zip(objects, stored, strict=True)
    }


def store_documents(
    content_type: ContentType,
    record: dict[str, Any],
    sections: dict[str, str],
    store: ObjectStore,
    batch_id: int,
    item_id: int,
) -> tuple[str, dict[str, dict[str, str]]]:
    """Render an item's documents from its section texts and put them in the store under
    content-addressed names; return the Markdown and `{format: {key, sha256}}`."""
    markdown, objects = render_documents(content_type, record, sections, batch_id, item_id)
    stored = store.put_many([obj for _, obj in objects])
    return markdown, _outputs(objects, stored)


def output_chunk(
    url: str, item_ids: Sequence[int], content_type: ContentType, store: ObjectStore
) -> StageCounts:
    """Render each refined item's documents from its refined sections, store them, await review.

    The model's own text is kept as a `model` revision; when the refiner changed it, a
    `refiner` revision (its child) holds the final text. In a regeneration round the new
    revisions are children of the item's latest revision. Rendering and the object-store puts
    (the chunk's documents in one `put_many`) run with no transaction open (puts of the
    same bytes are no-ops, so a redo is safe); revisions and statuses go in one short one.
    """
    snapshot = _output_snapshot(url, item_ids)
    rendered = [
        render_documents(content_type, w.record, w.final, w.batch_id, w.item_id) for w in snapshot
    ]
    stored = iter(store.put_many([obj for _, objects in rendered for _, obj in objects]))
    revisions: dict[int, list[dict[str, Any]]] = {}
    for work, (markdown, objects) in zip(snapshot, rendered, strict=True):
        outputs = _outputs(objects, [next(stored) for _ in objects])
        model_id = next(iter(work.model.values())).model_id
        if work.refined:
            raw = {name: g.output for name, g in work.model.items()}
            raw_markdown = render_markdown(content_type, work.record, raw)
            chain = [
                _revision(work.item_id, AuthorKind.MODEL, model_id, raw_markdown, raw),
                _revision(work.item_id, AuthorKind.REFINER, REFINER, markdown, work.final),
            ]
        else:
            chain = [_revision(work.item_id, AuthorKind.MODEL, model_id, markdown, work.final)]
        chain[-1] |= {"object_key": outputs["markdown"]["key"], "outputs": outputs}
        revisions[work.item_id] = chain
    check_errors = {work.item_id: work.check_errors for work in snapshot}
    return _write_revisions(url, revisions, check_errors)


def _write_revisions(
    url: str, revisions: dict[int, list[dict[str, Any]]], check_errors: dict[int, int]
) -> StageCounts:
    """Put each still-refined item in review and add its revisions (unless a first round
    already has its model revision): a chain, each revision the child of the one before,
    the first a child of the item's latest revision in a regeneration round. A few
    statements for the chunk: revisions are inserted a link of the chains at a time."""
    counts = StageCounts()
    with session_scope(url) as session:
        by_errors: dict[int, list[int]] = {}  # error findings -> the items with as many
        for item_id in revisions:
            by_errors.setdefault(check_errors[item_id], []).append(item_id)
        moved = sorted(
            row
            for errors, same in by_errors.items()
            for row in repo.move_items(
                session=session,
                ids=same,
                status=ItemStatus.REFINED,
                to=ItemStatus.PENDING_REVIEW,
                check_errors=errors,
            )
        )
        first_round = [item_id for item_id, round_ in moved if round_ == 1]
        written = repo.with_model_revision(session=session, item_ids=first_round)
        parents: dict[int, int | None] = {}
        for item_id, round_ in moved:
            if round_ == 1 and item_id not in written:
                parents[item_id] = None
            elif round_ > 1:
                latest = repo.latest_revision(session=session, item_id=item_id)
                parents[item_id] = latest.id if latest is not None else None
        link = 0
        while chains := [(i, revisions[i][link]) for i in parents if link < len(revisions[i])]:
            rows = [row | {"parent_id": parents[item_id]} for item_id, row in chains]
            ids = repo.insert_rows(session=session, model=Revision, rows=rows)
            parents.update(
                (item_id, new_id) for (item_id, _), new_id in zip(chains, ids, strict=True)
            )
            link += 1
        counts.done = len(moved)
    return counts


def finish_batch(url: str, batch_id: int) -> None:
    """Mark the batch completed (its summary comes from `copydesk.reports.batch_summary`)."""
    with session_scope(url) as session:
        batch = session.get_one(Batch, batch_id)
        batch.status = BatchStatus.COMPLETED
        batch.finished_at = datetime.now(UTC)


def best_generations(
    generations: Sequence[Generation], generation_round: int, errors: dict[int, int]
) -> dict[str, Generation]:
    """Per section: the attempt of `generation_round` with the fewest error findings (the
    latest on a tie), from an item's generations in id order and `{generation_id: errors}`."""
    best: dict[str, Generation] = {}
    for generation in generations:  # in id order, so later attempts win ties
        if generation.generation_round != generation_round:
            continue
        current = best.get(generation.section)
        if current is None or errors.get(generation.id, 0) <= errors.get(current.id, 0):
            best[generation.section] = generation
    return best


def generation_values(new: NewGeneration, generator: TextGenerator, run: RunIds) -> dict[str, Any]:
    """A `generations` row for a model call, as column values."""
    identity, request, result = generator.identity, new.request, new.result
    return {
        "item_id": new.item_id,
        "plan_id": new.plan_id,
        "section": new.section,
        "attempt": new.attempt,
        "generation_round": new.generation_round,
        "backend": identity.backend,
        "model_id": identity.model_id,
        "model_revision": identity.revision,
        "decoding": request.decoding.as_dict(),
        "seed": result.seed if result.seed is not None else request.seed,
        "prompt": result.prompt_text,
        "prompt_sha256": sha256_text(result.prompt_text),
        "output": result.text,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "finish_reason": result.finish_reason,
        "duration_s": result.duration_s,
        "device": identity.device,
        "dtype": identity.dtype,
        "library_versions": identity.library_versions,
        "prefect_flow_run_id": run.flow_run_id,
        "prefect_task_run_id": run.task_run_id,
    }


def finding_values(
    item_id: int,
    generation_id: int | None,
    finding: CheckFinding,
    *,
    refinement_id: int | None = None,
    section: str | None = None,
) -> dict[str, Any]:
    """A `findings` row for what a check found, as column values."""
    return {
        "item_id": item_id,
        "generation_id": generation_id,
        "refinement_id": refinement_id,
        "section": section,
        "check": finding.check,
        "severity": finding.severity,
        "span_start": finding.span_start,
        "span_end": finding.span_end,
        "message": finding.message,
        "suggestion": finding.suggestion,
    }


def finding_row(item_id: int, generation_id: int | None, finding: CheckFinding) -> Finding:
    return Finding(**finding_values(item_id, generation_id, finding))


def fail_in_status(session: Session, item_ids: Sequence[int], status: str, reason: str) -> int:
    """Fail those of the items still in `status`, for `reason`; how many."""
    failed = repo.move_items(
        session=session, ids=item_ids, status=status, to=ItemStatus.FAILED, error=reason[:2000]
    )
    return len(failed)


def fail_items(url: str, item_ids: Sequence[int], reason: str) -> int:
    """Mark a chunk's unfinished items as failed (its task ran out of retries)."""
    with session_scope(url) as session:
        return sum(fail_in_status(session, item_ids, status, reason) for status in WORK_STATUSES)
