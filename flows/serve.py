"""Server mode: the deployments `copydesk serve` registers and serves, and `trigger`.

One `process-inbox/<schedule>` deployment per schedule of copydesk.toml (its cron,
timezone and the schedule's name as parameter), plus `publish-approved/publish-approved`
and `regenerate-requested/regenerate-requested` (a cron only when `[publish]` /
`[regenerate]` give one), and `tune-model/tune-model` when `[tune]` gives its cron
(re-tune a content type from new approvals). Served flow runs execute in subprocesses of the serving
process, with its environment and working directory.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, cast

from prefect import serve
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from copydesk.errors import ConfigurationError
from copydesk.inputs.schedules import DeskConfig, FlowSchedule, deployment_name
from flows.inbox import process_inbox
from flows.publish import publish_approved
from flows.regenerate import regenerate_requested
from flows.tune import tune_model

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments.runner import RunnerDeployment

TAGS = ["copydesk"]


def build_deployments(config: DeskConfig) -> list[RunnerDeployment]:
    """The deployments of the config (registered with the API by `serve`)."""
    deployments = [
        _deployment(
            process_inbox,
            schedule.name,
            FlowSchedule(schedule.cron, schedule.timezone),
            parameters={"schedule": schedule.name},
            description=f"Every new file of {schedule.input} → a {schedule.content_type} batch.",
        )
        for schedule in config.schedules
    ]
    deployments.append(_deployment(publish_approved, publish_approved.name, config.publish))
    deployments.append(
        _deployment(regenerate_requested, regenerate_requested.name, config.regenerate)
    )
    if config.tune is not None:
        tune = config.tune
        deployments.append(
            _deployment(
                tune_model,
                tune_model.name,
                FlowSchedule(tune.cron, tune.timezone),
                parameters=tune.parameters(),
                description=f"Re-tune {tune.content_type}'s model from new approvals.",
            )
        )
    return deployments


def _deployment(flow: Any, name: str, timing: FlowSchedule, **options: Any) -> RunnerDeployment:
    schedules = [Cron(timing.cron, timezone=timing.timezone)] if timing.cron else []
    # A module entrypoint: the flow loads from the installed packages, whatever the cwd.
    deployment = flow.to_deployment(
        name=name,
        schedules=schedules,
        paused=False,  # stopping `serve` paused it: serving again resumes it
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
        **options,
    )
    return cast("RunnerDeployment", deployment)


def serve_config(config: DeskConfig, limit: int = 2) -> None:
    """Register the deployments and run their flow runs until interrupted (Ctrl-C);
    stopping pauses their schedules (no runs pile up while nothing serves them)."""
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before Prefect's own handler
        serve(*build_deployments(config), limit=limit, print_starting_message=False)


def trigger(name: str, *, wait: bool = True, timeout: float | None = None) -> FlowRun:
    """Start a run of the deployment now; wait for it to finish unless `wait` is False."""
    full_name = deployment_name(name)
    try:
        flow_run = run_deployment(
            full_name, timeout=timeout if wait else 0, poll_interval=1, as_subflow=False
        )
    except ObjectNotFound:
        raise ConfigurationError(
            f"no deployment {full_name!r} on the Prefect server: start `copydesk serve` "
            "(with that schedule in copydesk.toml) against the same PREFECT_API_URL"
        ) from None
    return cast("FlowRun", flow_run)
