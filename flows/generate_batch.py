"""The `generate-batch` flow: ingest → plan → generate → refine → output (→ images), by chunk.

Wiring only: every step is a task from `tasks/`, and items' state lives in the database,
so running the flow again for a batch (`batch_id`) picks up where it stopped. Chunks run
one after another in the flow run; with `COPYDESK_TASK_RUNNER=dask` they are spread over
a Dask cluster by the `generate-chunks` subflow instead.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.schemas.objects import State
from prefect.states import Completed

from copydesk.inputs.sources import describe_source
from copydesk.reports.batches import batch_verdict
from flows.chunks import chunk_stages, run_chunk, settle_chunk, submit_chunk
from tasks.batch import chunks_task, content_type_task, finish_task, generation_task
from tasks.common import with_retries
from tasks.images import check_images_task, image_backlog_task, images_task
from tasks.ingest import ingest_task, start_batch_task
from tasks.runners import dask_task_runner


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
) -> State[dict[str, Any]]:
    """Generate review-ready copy for every record of `source`: a CSV/JSONL/JSON file, or
    the input files under a prefix of the object store (`store:inbox/products/`, or
    `s3://BUCKET/inbox/products/` naming the configured bucket).

    With `batch_id`, works on that existing batch: a resume re-reads its source (ingest
    skips rows it already has) and does only the work its items still need. With
    `images`, each item that reaches review also gets an image (the content type's
    `image:` spec, COPYDESK_IMAGE_MODEL). `generation["model_version"]` names the tuned
    model version a new batch writes with (default: the content type's promoted one);
    a resumed batch keeps the version it started with.

    Called, it returns the batch's summary; its final state is Completed, named "Mostly
    fallback" (or "Mostly flagged") when the model's text was kept in fewer than half the
    sections, with a message of the counts.
    """
    options = generation or {}
    if batch_id is None and (source is None or content_type is None):
        raise ValueError("give source and content_type, or batch_id")
    kind = content_type or content_type_task(cast(int, batch_id))
    if images:
        check_images_task(kind)  # fail fast: before a batch starts, or before ingest
    if batch_id is None:
        batch_options = {"limit": limit, "chunk_size": chunk_size, "images": images, **options}
        batch_id = start_batch_task(kind, cast(str, source), batch_options)
    given = {k: v for k, v in options.items() if k != "model_version"}
    options = generation_task(batch_id, given)  # with the batch's model version
    with_retries(ingest_task)(batch_id, limit)
    if images:
        _image_backlog(batch_id, kind, chunk_size)
    progress = _progress_artifact(batch_id)
    runner = dask_task_runner()  # None (the default): chunk after chunk in this flow run
    if runner is not None:
        spread = generate_chunks.with_options(task_runner=runner)
        spread(batch_id, kind, chunk_size, options, images, progress)
    else:
        chunks = chunks_task(batch_id, chunk_size)
        for number, item_ids in enumerate(chunks, start=1):
            label = f"chunk {number}/{len(chunks)}"
            run_chunk(chunk_stages(kind, item_ids, options), item_ids, label)
            if images:  # for the chunk's items now in review; a failure leaves them there
                _images(kind, item_ids, label)
            update_progress_artifact(progress, 100.0 * number / len(chunks))
    summary = finish_task(batch_id)
    name, message = batch_verdict(summary)
    get_run_logger().info(message)
    # Completed either way (the batch is done); the name tells a fallback-heavy batch apart
    return Completed(name=name, message=message, data=summary)


def _progress_artifact(batch_id: int) -> UUID:
    artifact = create_progress_artifact(
        0.0, key=f"batch-{batch_id}-progress", description=f"Batch {batch_id}"
    )
    return cast(UUID, artifact)


def _image_backlog(batch_id: int, kind: str, chunk_size: int) -> None:
    """Images for the items an earlier run of the batch sent to review without theirs."""
    backlog = image_backlog_task(batch_id, chunk_size)
    for number, item_ids in enumerate(backlog, start=1):
        _images(kind, item_ids, f"backlog {number}/{len(backlog)}")


def _images(kind: str, item_ids: list[int], label: str, *, submit: bool = False) -> Any:
    named = with_retries(images_task, task_run_name=f"images {label}")
    if submit:
        return named.submit(kind, item_ids)
    return named(kind, item_ids, return_state=True)


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
    side by side, each chunk's stages in order. A chunk whose stage fails marks its items
    failed, as in `generate-batch`; images follow each finished chunk."""
    chunks = chunks_task(batch_id, chunk_size)
    labels = [f"chunk {number}/{len(chunks)}" for number in range(1, len(chunks) + 1)]
    submitted = [
        submit_chunk(chunk_stages(content_type, item_ids, generation), label)
        for item_ids, label in zip(chunks, labels, strict=True)
    ]
    image_runs = []
    for number, (item_ids, label, stages) in enumerate(
        zip(chunks, labels, submitted, strict=True), 1
    ):
        settle_chunk(stages, item_ids)
        if images:
            image_runs.append(_images(content_type, item_ids, label, submit=True))
        update_progress_artifact(progress, 100.0 * number / len(chunks))
    for image_run in image_runs:
        image_run.wait()  # a failed image run leaves its items in review without one
