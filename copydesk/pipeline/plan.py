"""The plan stage: render each ingested item's outline from its content type's plan
templates and store it (a `plans` row), one statement for the chunk."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert

from copydesk.content.outline import PlanError, render_plan
from copydesk.content.types import ContentType
from copydesk.pipeline.rows import fail_in_status
from copydesk.pipeline.types import StageCounts
from db import repository as repo
from db.models import (
    ItemStatus,
    Plan,
)
from db.session import session_scope


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
            session.execute(insert(Plan), rows)  # one statement, not one row at a time
        counts.done = len(moved)
        for item_id, reason in failed.items():
            counts.failed += fail_in_status(session, [item_id], ItemStatus.INGESTED, reason)
    return counts
