from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from copydesk.desk.publish import publish_approved
from copydesk.desk.publish_manifest import summary_markdown
from tasks.common import RETRIES, RETRY_DELAYS, database_url, object_store, run_ids


@task(name="publish", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS, cache_policy=NO_CACHE)
def publish_task(batch_id: int | None) -> dict[str, Any]:
    """Publish the approved items (a redo after a failure is safe); report them in the UI."""
    result = publish_approved(
        database_url(), object_store(), batch_id=batch_id, flow_run_id=run_ids().flow_run_id
    ).as_dict()
    create_markdown_artifact(
        key=f"publish-batch-{batch_id}" if batch_id is not None else "publish-all",
        description="What publish-approved published",
        markdown=summary_markdown(result, batch_id),
    )
    return result
