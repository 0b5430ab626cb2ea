"""Batch-level tasks: chunking, failing a chunk, finishing, and the Prefect UI artifacts."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from copydesk.pipeline.batch import (
    batch_content_type,
    batch_generation,
    finish_batch,
    unfinished_chunks,
)
from copydesk.pipeline.rows import fail_items
from copydesk.reports.batches import batch_summary, items_table, summary_markdown
from tasks.common import database_url


@task(name="list-chunks", task_run_name="list chunks of batch {batch_id}", cache_policy=NO_CACHE)
def chunks_task(batch_id: int, chunk_size: int) -> list[list[int]]:
    return unfinished_chunks(database_url(), batch_id, chunk_size)


@task(
    name="batch-content-type",
    task_run_name="content type of batch {batch_id}",
    cache_policy=NO_CACHE,
)
def content_type_task(batch_id: int) -> str:
    return batch_content_type(database_url(), batch_id)


@task(
    name="batch-generation",
    task_run_name="generation options of batch {batch_id}",
    cache_policy=NO_CACHE,
)
def generation_task(batch_id: int, given: dict[str, Any]) -> dict[str, Any]:
    """The batch's generation options, its model version included."""
    return batch_generation(database_url(), batch_id, given)


@task(name="fail-chunk", task_run_name="fail unfinished items", cache_policy=NO_CACHE)
def fail_chunk_task(item_ids: list[int], reason: str) -> int:
    return fail_items(database_url(), item_ids, reason)


@task(name="finish-batch", task_run_name="finish batch {batch_id}", cache_policy=NO_CACHE)
def finish_task(batch_id: int) -> dict[str, Any]:
    finish_batch(database_url(), batch_id)
    summary = batch_summary(database_url(), batch_id)
    create_markdown_artifact(
        key=f"batch-{batch_id}-summary",
        description=f"Batch {batch_id} summary",
        markdown=summary_markdown(summary),
    )
    create_table_artifact(
        key=f"batch-{batch_id}-items",
        table=items_table(database_url(), batch_id),
        description=f"Items of batch {batch_id} (first 500)",
    )
    return summary
