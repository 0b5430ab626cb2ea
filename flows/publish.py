"""The `publish-approved` flow: approved items' documents → `published/`, with a manifest.

Wiring only: the task publishes in chunks and is safe to redo (see `copydesk.desk.publish`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.common import with_retries
from tasks.publish import publish_task


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    batch_id = flow_run.parameters.get("batch_id")
    return f"publish batch {batch_id}" if batch_id is not None else "publish all batches"


@flow(name="publish-approved", flow_run_name=_flow_run_name, log_prints=True)
def publish_approved(batch_id: int | None = None) -> dict[str, Any]:
    """Publish the approved items of batch `batch_id` (of every batch when None): copy each
    approved revision's documents to `published/{content_type}/{slug}.{ext}`, record them,
    mark the items published and write a manifest. Returns the counts, the manifest keys
    and the items skipped (with why)."""
    return with_retries(publish_task)(batch_id)
