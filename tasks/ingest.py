from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from copydesk.inputs.sources import parse_source
from copydesk.pipeline.batch import attach_flow_run, start_batch
from copydesk.pipeline.ingest import ingest_batch
from copydesk.settings import get_settings
from copydesk.tuning.shipped import install_shipped_versions
from tasks.common import RETRIES, RETRY_DELAYS, database_url, object_store, run_ids


@task(name="start-batch", task_run_name="start {content_type} batch", cache_policy=NO_CACHE)
def start_batch_task(content_type: str, source: str, options: dict[str, Any]) -> int:
    settings = get_settings()
    install_shipped_versions(settings, object_store())  # a fresh home's first batch
    return start_batch(
        database_url(),
        content_type=content_type,
        source=str(parse_source(source, settings)),  # s3://bucket/x → store:x
        options=options,
        flow_run_id=run_ids().flow_run_id,
        use_promoted=settings.text_backend == "transformers",  # versions run there only
    )


@task(
    name="ingest",
    task_run_name="ingest batch {batch_id}",
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAYS,
    cache_policy=NO_CACHE,
)
def ingest_task(batch_id: int, limit: int | None = None) -> dict[str, Any]:
    attach_flow_run(database_url(), batch_id, run_ids().flow_run_id)
    return asdict(ingest_batch(database_url(), batch_id, limit=limit, store=object_store()))
