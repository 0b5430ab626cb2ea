"""A batch's lifecycle: start it (or find the one a flow run already made) with the
model version it writes with, attach the flow run working on it, find what a resume
runs on, list its unfinished items by chunk, finish it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from copydesk.chunking import chunked
from copydesk.content.types import load_content_type
from copydesk.errors import ConfigurationError
from copydesk.pipeline.types import GenerationOptions
from db import model_versions as versions_repo
from db import repository as repo
from db.models import WORK_STATUSES, Batch, BatchStatus
from db.session import session_scope


def start_batch(
    url: str,
    *,
    content_type: str,
    source: Path | str,
    options: dict[str, Any],
    flow_run_id: str | None = None,
    use_promoted: bool = True,
) -> int:
    """Create a batch; for a flow run that already made one (a Prefect retry), return that one.

    Its model version is `options["model_version"]` (a name or id; `base`), else the
    content type's promoted one (unless `use_promoted` is off: a server backend), else
    the base model; the batch records it, so resumes and regenerations use the same."""
    load_content_type(content_type)  # fail early on an unknown type
    options = dict(options)
    requested = options.pop("model_version", None)
    with session_scope(url) as session:
        if flow_run_id is not None:
            existing = session.scalars(
                select(Batch.id).where(Batch.prefect_flow_run_id == flow_run_id)
            ).first()
            if existing is not None:
                return existing
        if requested is not None or use_promoted:
            version = versions_repo.resolve_model_version(
                session=session, content_type=content_type, requested=requested
            )
            options["model_version_id"] = version.id if version is not None else None
            options["model_version"] = version.name if version is not None else None
        batch = repo.create_batch(
            session=session, content_type=content_type, source=str(source), options=options
        )
        batch.status, batch.started_at = BatchStatus.RUNNING, datetime.now(UTC)
        batch.prefect_flow_run_id = flow_run_id
        return batch.id


def attach_flow_run(url: str, batch_id: int, flow_run_id: str | None) -> None:
    """Record the flow run now working on the batch (the latest one, after a resume)."""
    if flow_run_id is None:
        return
    with session_scope(url) as session:
        batch = session.get_one(Batch, batch_id)
        batch.prefect_flow_run_id, batch.status = flow_run_id, BatchStatus.RUNNING


def finish_batch(url: str, batch_id: int) -> None:
    """Mark the batch completed (its summary comes from `copydesk.reports.batches.batch_summary`)."""
    with session_scope(url) as session:
        batch = session.get_one(Batch, batch_id)
        batch.status = BatchStatus.COMPLETED
        batch.finished_at = datetime.now(UTC)


@dataclass(frozen=True)
class ResumePoint:
    """What a resumed batch runs on: its source, content type and options."""

    source: str
    content_type: str
    limit: int | None
    chunk_size: int | None
    model_version: str | None = None  # the version's name (None: the base model)


def resume_point(url: str, batch_id: int) -> ResumePoint:
    """The batch's source and options, to run it again; ConfigurationError if unknown."""
    with session_scope(url, readonly=True) as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise ConfigurationError(f"no batch {batch_id}; `copydesk batches` lists them")
        options = batch.options
        return ResumePoint(
            batch.source,
            batch.content_type,
            options.get("limit"),
            options.get("chunk_size"),
            options.get("model_version"),
        )


_OPTION_NAMES = {f.name for f in fields(GenerationOptions)}


def batch_generation(url: str, batch_id: int, given: dict[str, Any]) -> dict[str, Any]:
    """The generation options a run of the batch uses: those it was started with, then
    `given`; its model version always the batch's own."""
    with session_scope(url, readonly=True) as session:
        stored = session.get_one(Batch, batch_id).options
    chosen = {k: v for k, v in stored.items() if k in _OPTION_NAMES}
    return chosen | given | {"model_version_id": stored.get("model_version_id")}


def batch_content_type(url: str, batch_id: int) -> str:
    with session_scope(url, readonly=True) as session:
        return session.get_one(Batch, batch_id).content_type


def unfinished_chunks(url: str, batch_id: int, chunk_size: int) -> list[list[int]]:
    """The ids of the batch's items still to work on (in input order), by chunk."""
    with session_scope(url, readonly=True) as session:
        ids = repo.item_ids(session=session, batch_id=batch_id, statuses=WORK_STATUSES)
    return list(chunked(ids, chunk_size))
