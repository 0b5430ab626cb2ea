"""Tasks of the `process-inbox` flow: read a schedule, list its new files, claim, finish."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from copydesk.inputs.inbox import (
    FoundFile,
    claim_file,
    current_claimer,
    finish_file,
    held_elsewhere,
    list_inbox,
)
from copydesk.inputs.inbox import pending_files as pending
from copydesk.inputs.schedules import load_config
from copydesk.settings import get_settings
from tasks.common import RETRIES, RETRY_DELAYS, database_url, object_store, run_ids


@task(name="read-schedule", task_run_name="read schedule {schedule}", cache_policy=NO_CACHE)
def schedule_task(schedule: str) -> dict[str, Any]:
    """The schedule's batch parameters, as `generate_batch` takes them."""
    spec = load_config().schedule(schedule)
    return {
        "content_type": spec.content_type,
        "limit": spec.options.limit,
        "chunk_size": spec.options.chunk_size or get_settings().chunk_size,
        "images": spec.options.images,
        "generation": spec.options.generation(),
    }


@task(
    name="list-inbox",
    task_run_name="list inbox of {schedule}",
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAYS,
    cache_policy=NO_CACHE,
)
def list_inbox_task(schedule: str) -> dict[str, Any]:
    """How many input files the inbox holds, and those not done yet (new, or to retry)."""
    spec = load_config().schedule(schedule)
    found = list_inbox(spec, object_store() if spec.is_store else None)
    return {
        "seen": len(found),
        "pending": [asdict(f) for f in pending(database_url(), schedule, found)],
    }


@task(name="claim-inbox-file", task_run_name="claim {file[source]}", cache_policy=NO_CACHE)
def claim_file_task(schedule: str, file: dict[str, Any]) -> dict[str, Any] | None:
    """Claim the file and its batch for this flow run; None when it is taken."""
    me = run_ids().flow_run_id or "local"
    found = FoundFile(**file)
    holder = current_claimer(database_url(), schedule, found)
    stale = holder if holder not in (None, me) and not _is_running(holder) else None
    claim = claim_file(
        database_url(), load_config().schedule(schedule), found, claimer=me, stale_claimer=stale
    )
    return asdict(claim) if claim else None


def _is_running(flow_run_id: str | None) -> bool:
    """Whether Prefect knows the flow run and it has not finished (a live claim)."""
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
    except (ObjectNotFound, ValueError, TypeError):  # unknown to this API, or not a run id
        return False
    return state is not None and not state.is_final()


@task(
    name="finish-inbox-file",
    task_run_name="finish inbox file {inbox_file_id}",
    cache_policy=NO_CACHE,
)
def finish_file_task(inbox_file_id: int, error: str | None = None) -> bool:
    return finish_file(database_url(), inbox_file_id, run_ids().flow_run_id or "local", error)


@task(name="held-inbox-files", task_run_name="files other runs hold", cache_policy=NO_CACHE)
def held_files_task(schedule: str, files: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(source, flow run) of the files another live run claimed first and still holds."""
    me = run_ids().flow_run_id or "local"
    return held_elsewhere(database_url(), schedule, [FoundFile(**f) for f in files], me)
