"""The `generate-batch` flow: ingest → plan → generate → refine → output (→ images), by chunk.

Wiring only: every step is a task from `tasks/`, and items' state lives in the database,
so running the flow again for a batch (`resume_batch_id`) picks up where it stopped.
Chunks run one after another in the flow run; with `COPYDESK_TASK_RUNNER=dask` they are
spread over a Dask cluster by the `generate-chunks` subflow instead.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture

from copydesk.sources import describe_source
from tasks.batch import chunks_task, content_type_task, fail_chunk_task, finish_task
from tasks.common import with_retries
from tasks.generate import generate_task
from tasks.images import check_images_task, image_backlog_task, images_task
from tasks.ingest import ingest_task, start_batch_task
from tasks.output import output_task
from tasks.plan import plan_task
from tasks.refine import refine_task
from tasks.runners import dask_task_runner


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    if params.get("batch_id") is not None:
        return f"batch {params['batch_id']}: {params.get('content_type') or 'resume'}"
    return f"{params.get('content_type')}: {describe_source(str(params.get('source')))}"


def _stages(
    kind: str, item_ids: list[int], options: dict[str, Any]
) -> tuple[tuple[str, Any, tuple[Any, ...]], ...]:
    return (
        ("plan", plan_task, (kind, item_ids)),
        ("generate", generate_task, (item_ids, options)),
        ("refine", refine_task, (kind, item_ids, options)),
        ("output", output_task, (kind, item_ids)),
    )


def _failure(stage: str, state: State[Any]) -> str:
    if state.is_failed():
        return f"{stage} failed after retries: {state.message}"
    return f"{stage} did not finish ({state.name}): {state.message}"  # e.g. a lost Dask worker


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
    with_retries(ingest_task)(batch_id, limit)
    if images:  # items an earlier run of the batch sent to review without their image
        backlog = image_backlog_task(batch_id, chunk_size)
        for number, item_ids in enumerate(backlog, start=1):
            name = f"images backlog {number}/{len(backlog)}"
            with_retries(images_task, task_run_name=name)(kind, item_ids, return_state=True)
    progress = cast(
        UUID,
        create_progress_artifact(
            0.0, key=f"batch-{batch_id}-progress", description=f"Batch {batch_id}"
        ),
    )
    runner = dask_task_runner()  # None (the default): chunk after chunk in this flow run
    if runner is not None:
        spread = generate_chunks.with_options(task_runner=runner)
        spread(batch_id, kind, chunk_size, options, images, progress)
    else:
        chunks = chunks_task(batch_id, chunk_size)
        for number, item_ids in enumerate(chunks, start=1):
            label = f"chunk {number}/{len(chunks)}"
            for stage, stage_task, args in _stages(kind, item_ids, options):
                named = with_retries(stage_task, task_run_name=f"{stage} {label}")
                state = named(*args, return_state=True)
                if state.is_failed():
                    fail_chunk_task(item_ids, _failure(stage, state))
                    break
            if images:  # for the chunk's items now in review; a failure leaves them there
                named = with_retries(images_task, task_run_name=f"images {label}")
                named(kind, item_ids, return_state=True)
            update_progress_artifact(progress, 100.0 * number / len(chunks))
    return finish_task(batch_id)


@flow(name="generate-chunks", flow_run_name="chunks of batch {batch_id}", log_prints=True)
def generate_chunks(
    batch_id: int,
    content_type: str,
    chunk_size: int,
    generation: dict[str, Any],
    images: bool,
    progress: UUID,
) -> None:
    """Every chunk's stages submitted at once to the flow's task runner (Dask): chunks run
    side by side, each chunk's stages in order (`wait_for`). A chunk whose stage fails
    marks its items failed, as in `generate-batch`; images follow each finished chunk."""
    chunks = chunks_task(batch_id, chunk_size)
    pipelines: list[list[tuple[str, PrefectFuture[Any]]]] = []
    for number, item_ids in enumerate(chunks, start=1):
        label = f"chunk {number}/{len(chunks)}"
        previous: list[PrefectFuture[Any]] = []
        pipeline = []
        for stage, stage_task, args in _stages(content_type, item_ids, generation):
            named = with_retries(stage_task, task_run_name=f"{stage} {label}")
            previous = [named.submit(*args, wait_for=previous)]
            pipeline.append((stage, previous[0]))
        pipelines.append(pipeline)
    image_runs = []
    for number, (item_ids, pipeline) in enumerate(zip(chunks, pipelines, strict=True), start=1):
        for stage, future in pipeline:
            future.wait()
            if not future.state.is_completed():  # later stages of the chunk did not start
                fail_chunk_task(item_ids, _failure(stage, future.state))
                break
        if images:
            named = with_retries(images_task, task_run_name=f"images chunk {number}/{len(chunks)}")
            image_runs.append(named.submit(content_type, item_ids))
        update_progress_artifact(progress, 100.0 * number / len(chunks))
    for image_run in image_runs:
        image_run.wait()  # a failed image run leaves its items in review without one
