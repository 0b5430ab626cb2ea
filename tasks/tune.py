"""The tune task: the same core call as `copydesk tune`, with Prefect artifacts (progress,
and the loss curve as a table)."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from copydesk.settings import get_settings
from copydesk.tuning.jobs import TuneRequest, run_tune
from copydesk.tuning.loop import Progress
from tasks.common import object_store

UPDATES = 50  # progress artifact updates per tune, at most


@task(name="tune", task_run_name="tune {content_type}", cache_policy=NO_CACHE)
def tune_task(content_type: str, options: dict[str, Any]) -> dict[str, Any] | None:
    """Tune a new model version; its name and figures (None: no new data to train on)."""
    request = TuneRequest.from_options(content_type, options)
    progress = cast(UUID, create_progress_artifact(0.0, description=f"tune {content_type}"))
    every = max(1, request.settings.steps // UPDATES)

    def on_step(step: Progress) -> None:
        if step.step % every == 0 or step.step == step.steps:
            update_progress_artifact(progress, 100.0 * step.step / step.steps)

    outcome = run_tune(get_settings(), object_store(), request, on_step)
    if outcome is None:
        return None
    version = outcome.version
    create_table_artifact(
        key=f"tune-{version.name.lower().replace('.', '-').replace('_', '-')}-loss",
        table=[{"step": int(step), "loss": round(loss, 4)} for step, loss in outcome.loss_curve],
        description=f"Loss curve of model version {version.name}",
    )
    return {
        "version": version.name,
        "artifact_sha256": version.artifact_sha256,
        "examples": outcome.counts["examples"],
        "quarantined": len(outcome.quarantined),
        "held_out_inputs": outcome.held_out_inputs,
        "final_loss": outcome.loss_curve[-1][1],
        "duration_s": version.duration_s,
    }
