"""The generate stage: the first attempt (of the item's round) at every section of every
planned item of a chunk, each section's candidates with it, in one batched model call; the model runs with no transaction
open and the results are written in one short one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert

from copydesk.content.outline import Outline
from copydesk.generation.base import TextGenerator
from copydesk.pipeline.rows import fail_in_status, generation_values
from copydesk.pipeline.types import (
    Attempt,
    GenerationOptions,
    ItemWork,
    NewGeneration,
    RunIds,
    StageCounts,
)
from db import repository as repo
from db.models import (
    Generation,
    ItemStatus,
)
from db.session import session_scope


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
            sections = Outline.from_dict(plan_row.outline).sections
            unit = ItemWork(item_id, input_sha256, plan_row.id, sections, record)
            unit.generation_round = generation_round
            if generation_round > 1:
                unit.notes = notes.get(item_id)
            for generation in generations.get(item_id, ()):
                unit.add(
                    generation.section,
                    Attempt(
                        generation.attempt,
                        generation.output,
                        row_id=generation.id,
                        candidate=generation.candidate,
                        mean_logprob=generation.mean_logprob,
                    ),
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
    calls = [
        (unit, section, number, candidate, request)
        for unit in work
        for section in unit.sections
        for number in [unit.next_attempt(section.name)]
        for candidate, request in enumerate(
            options.requests(section, unit.prompt(section), unit.input_sha256, number, retry=False)
        )
    ]
    results = generator.generate([request for *_, request in calls])
    new = [
        NewGeneration(u.item_id, u.plan_id, s.name, n, request, result, u.generation_round, c)
        for (u, s, n, c, request), result in zip(calls, results, strict=True)
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
