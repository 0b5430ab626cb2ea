"""Row builders and fail helpers the stages share: a `generations` row for a model call, a
`findings` row for what a check found, and failing the items of a chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from copydesk.checks.findings import CheckFinding
from copydesk.generation.base import TextGenerator
from copydesk.hashing import sha256_text
from copydesk.pipeline.types import NewGeneration, RunIds
from db import repository as repo
from db.models import (
    WORK_STATUSES,
    Finding,
    ItemStatus,
)
from db.session import session_scope


def generation_values(new: NewGeneration, generator: TextGenerator, run: RunIds) -> dict[str, Any]:
    """A `generations` row for a model call, as column values."""
    identity, request, result = generator.identity, new.request, new.result
    return {
        "item_id": new.item_id,
        "plan_id": new.plan_id,
        "section": new.section,
        "attempt": new.attempt,
        "candidate": new.candidate,
        "generation_round": new.generation_round,
        "backend": identity.backend,
        "model_id": identity.model_id,
        "model_revision": identity.revision,
        "decoding": request.decoding.as_dict(),
        "seed": result.seed if result.seed is not None else request.seed,
        "prompt": result.prompt_text,
        "prompt_sha256": sha256_text(result.prompt_text),
        "output": result.text,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "finish_reason": result.finish_reason,
        "mean_logprob": result.mean_logprob,
        "duration_s": result.duration_s,
        "device": identity.device,
        "dtype": identity.dtype,
        "library_versions": identity.library_versions,
        "prefect_flow_run_id": run.flow_run_id,
        "prefect_task_run_id": run.task_run_id,
        "model_version_id": identity.model_version_id,
    }


def finding_values(
    item_id: int,
    generation_id: int | None,
    finding: CheckFinding,
    *,
    refinement_id: int | None = None,
    section: str | None = None,
) -> dict[str, Any]:
    """A `findings` row for what a check found, as column values."""
    return {
        "item_id": item_id,
        "generation_id": generation_id,
        "refinement_id": refinement_id,
        "section": section,
        "check": finding.check,
        "severity": finding.severity,
        "span_start": finding.span_start,
        "span_end": finding.span_end,
        "message": finding.message,
        "suggestion": finding.suggestion,
    }


def finding_row(item_id: int, generation_id: int | None, finding: CheckFinding) -> Finding:
    return Finding(**finding_values(item_id, generation_id, finding))


def fail_in_status(session: Session, item_ids: Sequence[int], status: str, reason: str) -> int:
    """Fail those of the items still in `status`, for `reason`; how many."""
    failed = repo.move_items(
        session=session, ids=item_ids, status=status, to=ItemStatus.FAILED, error=reason[:2000]
    )
    return len(failed)


def fail_items(url: str, item_ids: Sequence[int], reason: str) -> int:
    """Mark a chunk's unfinished items as failed (its task ran out of retries)."""
    with session_scope(url) as session:
        return sum(fail_in_status(session, item_ids, status, reason) for status in WORK_STATUSES)
