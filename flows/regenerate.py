"""The `regenerate-requested` flow: items editors sent back with notes go through
generate → refine → output again (a new round, the notes in every prompt) and return to
the review queue. Wiring only; the stage tasks are the batch pipeline's own."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.batch import fail_chunk_task
from tasks.common import with_retries
from tasks.generate import generate_task
from tasks.output import output_task
from tasks.refine import refine_task
from tasks.regenerate import start_round_task


@flow(name="regenerate-requested", log_prints=True)
def regenerate_requested(batch_id: int | None = None, chunk_size: int = 32) -> dict[str, Any]:
    """Regenerate every item waiting in status `regenerate` (of one batch, or all)."""
    rounds = start_round_task(batch_id)
    done = 0
    for kind, ids, options in rounds:
        for start in range(0, len(ids), chunk_size):
            item_ids = ids[start : start + chunk_size]
            stages = (
                ("generate", generate_task, (item_ids, options)),
                ("refine", refine_task, (kind, item_ids, options)),
                ("output", output_task, (kind, item_ids)),
            )
            for stage, stage_task, args in stages:
                named = with_retries(stage_task, task_run_name=f"{stage} regeneration")
                state = named(*args, return_state=True)
                if state.is_failed():
                    fail_chunk_task(item_ids, f"regeneration {stage} failed: {state.message}")
                    break
            else:
                done += len(item_ids)
    items = sum(len(ids) for _, ids, _ in rounds)
    print(f"regenerated {done} of {items} item(s) waiting for a new round")
    return {"items": items, "regenerated": done}
