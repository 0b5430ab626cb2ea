"""The `generate-batch` flow: ingest → plan → generate → refine → output (→ images), by chunk.

Wiring only: every step is a task from `tasks/`, and items' state lives in the database,
so running the flow again for a batch (`resume_batch_id`) picks up where it stopped.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from copydesk.sources import describe_source
from tasks.batch import chunks_task, content_type_task, fail_chunk_task, finish_task
from tasks.generate import generate_task
from tasks.images import check_images_task, image_backlog_task, images_task
from tasks.ingest import ingest_task, start_batch_task
from tasks.output import output_task
from tasks.plan import plan_task
from tasks.refine import refine_task

STAGES = (
    ("plan", plan_task),
    ("generate", generate_task),
    ("refine", refine_task),
    ("output", output_task),
)


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    if params.get("batch_id") is not None:
        return f"batch {params['batch_id']}: {params.get('content_type') or 'resume'}"
    return f"{params.get('content_type')}: {describe_source(str(params.get('source')))}"


@flow(name="generate-batch", flow_run_name=_flow_run_name, log_prints=True)
def generate_batch(
    source: str | None = None,
    content_type: str | None = None,
    limit: int | None = None,
    chunk_size: int = 32,
    generation: dict[str, Any] | None = None,
    batch_id: int | None = None,
    images: bool = False,
) -> dict[str, Any]:
    """Generate review-ready copy for every record of `source`: a CSV/JSONL/JSON file, or
    the input files under a prefix of the object store (`store:inbox/products/`, or
    `s3://BUCKET/inbox/products/` naming the configured bucket).

    With `batch_id`, works on that existing batch: a resume re-reads its source (ingest
    skips rows it already has) and does only the work its items still need. With
    `images`, each item that reaches review also gets an image (the content type's
    `image:` spec, COPYDESK_IMAGE_MODEL).
    """
    options = generation or {}
    if batch_id is None:
        if source is None or content_type is None:
            raise ValueError("give source and content_type, or batch_id")
        kind = content_type
        if images:
            check_images_task(kind)  # fail fast: before a batch starts
        batch_id = start_batch_task(
            kind, source, {"limit": limit, "chunk_size": chunk_size, "images": images, **options}
        )
    else:
        kind = content_type or content_type_task(batch_id)
        if images:
            check_images_task(kind)  # fail fast: before ingest
    ingest_task(batch_id, limit)
    if images:  # items an earlier run of the batch sent to review without their image
        backlog = image_backlog_task(batch_id, chunk_size)
        for number, item_ids in enumerate(backlog, start=1):
            name = f"images backlog {number}/{len(backlog)}"
            images_task.with_options(task_run_name=name)(kind, item_ids, return_state=True)
    chunks = chunks_task(batch_id, chunk_size)
    progress = cast(
        UUID,
        create_progress_artifact(
            0.0, key=f"batch-{batch_id}-progress", description=f"Batch {batch_id}"
        ),
    )
    for number, item_ids in enumerate(chunks, start=1):
        label = f"chunk {number}/{len(chunks)}"
        stages = (
            ("plan", plan_task, (kind, item_ids)),
            ("generate", generate_task, (item_ids, options)),
            ("refine", refine_task, (kind, item_ids, options)),
            ("output", output_task, (kind, item_ids)),
        )
        for stage, stage_task, args in stages:
            named = stage_task.with_options(task_run_name=f"{stage} {label}")
            state = named(*args, return_state=True)
            if state.is_failed():
                fail_chunk_task(item_ids, f"{stage} failed after retries: {state.message}")
                break
        if images:  # for the chunk's items now in review; a failure leaves them there
            named = images_task.with_options(task_run_name=f"images {label}")
            named(kind, item_ids, return_state=True)
        update_progress_artifact(progress, 100.0 * number / len(chunks))
    return finish_task(batch_id)
