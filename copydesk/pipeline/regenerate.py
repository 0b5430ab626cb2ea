"""Regeneration rounds: items an editor sent back with notes go through generate → refine
→ output again, and return to the review queue.

`start_round` moves items waiting in status `regenerate` into their next round (round
number + 1, status `planned`, the latest plan kept); from there the batch pipeline's own
stage functions do the work, and `with_notes` puts the editor's notes into every prompt
of the round. Attempt numbers and seeds go on from the previous round, so nothing is
overwritten and the lineage shows every round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import fields

from sqlalchemy import select

from copydesk.content.types import load_content_type
from copydesk.generation.base import TextGenerator
from copydesk.pipeline.inline import run_stages
from copydesk.pipeline.types import GenerationOptions, RunIds, StageCounts
from copydesk.storage import ObjectStore
from db import repository as repo
from db.models import Batch, Item, ItemStatus
from db.session import session_scope

_OPTION_NAMES = {f.name for f in fields(GenerationOptions)}


def waiting_items(url: str, batch_id: int | None = None) -> list[int]:
    """Ids of the items waiting for a regeneration (of one batch, or all)."""
    with session_scope(url, readonly=True) as session:
        query = select(Item.id).where(Item.status == ItemStatus.REGENERATE).order_by(Item.id)
        if batch_id is not None:
            query = query.where(Item.batch_id == batch_id)
        return list(session.scalars(query))


def start_round(url: str, item_ids: Sequence[int]) -> dict[str, list[int]]:
    """Move the waiting items among `item_ids` into their next round; return their ids by
    content type. Items without a plan are failed with the reason."""
    started: dict[str, list[int]] = defaultdict(list)
    with session_scope(url) as session:
        items = repo.items_in_status(session=session, ids=item_ids, status=ItemStatus.REGENERATE)
        for item in items:
            if repo.latest_plan(session=session, item_id=item.id) is None:
                item.status, item.error = ItemStatus.FAILED, "regeneration: the item has no plan"
                continue
            item.generation_round += 1
            item.status, item.check_errors = ItemStatus.PLANNED, 0
            started[item.batch.content_type].append(item.id)
    return dict(started)


def round_options(url: str, item_ids: Sequence[int]) -> GenerationOptions:
    """The decoding options of the batch the first item came from (defaults otherwise)."""
    with session_scope(url, readonly=True) as session:
        batch = session.scalars(
            select(Batch).join(Item, Item.batch_id == Batch.id).where(Item.id.in_(list(item_ids)))
        ).first()
        options = batch.options if batch is not None else {}
    return GenerationOptions(**{k: v for k, v in options.items() if k in _OPTION_NAMES})


def regenerate_items(
    url: str,
    item_ids: Sequence[int],
    generator_for: Callable[[int | None], TextGenerator],
    store: ObjectStore,
    run: RunIds = RunIds(),  # noqa: B008 - frozen, immutable default
) -> StageCounts:
    """Run a regeneration round for the waiting items among `item_ids`, in process, with
    the generator of their batch's model version (`generator_for(version id or None)`)."""
    total = StageCounts()
    for content_type_name, ids in start_round(url, item_ids).items():
        content_type = load_content_type(content_type_name)
        options = round_options(url, ids)
        generator = generator_for(options.model_version_id)
        counts = run_stages(
            url, ids, content_type, generator, store, options, run, start="generate"
        )
        total.done += counts.done
        total.failed += len(ids) - counts.done
    return total
