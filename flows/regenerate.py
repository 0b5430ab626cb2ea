"""The `regenerate-requested` flow: items editors sent back with notes go through
generate → refine → output again (a new round, the notes in every prompt) and return to
the review queue. Wiring only; the stage tasks are the batch pipeline's own."""

from __future__ import annotations

from typing import Any

from prefect import flow

from copydesk.chunking import chunked
from flows.chunks import chunk_stages, run_chunk
from tasks.regenerate import start_round_task


@flow(name="regenerate-requested", log_prints=True)
def regenerate_requested(batch_id: int | None = None, chunk_size: int = 32) -> dict[str, Any]:
    """Regenerate every item waiting in status `regenerate` (of one batch, or all)."""
    rounds = start_round_task(batch_id)
    done = 0
    for kind, ids, options in rounds:
        for item_ids in chunked(ids, chunk_size):
            stages = chunk_stages(kind, item_ids, options, start="generate")
            if run_chunk(stages, item_ids, "regeneration"):
                done += len(item_ids)
    items = sum(len(ids) for _, ids, _ in rounds)
    print(f"regenerated {done} of {items} item(s) waiting for a new round")
    return {"items": items, "regenerated": done}
