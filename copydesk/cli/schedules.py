"""CLI commands for server mode: `schedules list|validate`, `serve`, `trigger`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from copydesk.errors import ConfigurationError
from copydesk.inputs.schedules import (
    DESK_FLOWS,
    INBOX_FLOW,
    DeskConfig,
    check_config,
    config_path,
    deployment_name,
    load_config,
)
from copydesk.inputs.schedules import next_run as next_fire
from copydesk.settings import Settings, get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
NEEDS_SERVER = (
    "needs a Prefect server: start one with `prefect server start` (UI on "
    "http://127.0.0.1:4200) and set PREFECT_API_URL=http://127.0.0.1:4200/api"
)

LIST_COLUMNS = ("name", "type", "input", "cron", "timezone", "next run")
schedules_app = typer.Typer(
    help="The schedules in copydesk.toml (or the file COPYDESK_CONFIG names).",
    no_args_is_help=True,
)


@schedules_app.command("list")
def list_schedules() -> None:
    """Show each schedule: name, content type, input, cron, timezone and next run time."""
    config = load_config()
    table = Table(*(Column(name, overflow="fold") for name in LIST_COLUMNS))
    now = datetime.now(UTC)
    for schedule in config.schedules:
        when = next_fire(schedule.cron, schedule.timezone, now)
        table.add_row(
            schedule.name,
            schedule.content_type,
            schedule.input,
            schedule.cron,
            schedule.timezone,
            when.strftime("%Y-%m-%d %H:%M %Z"),
        )
    for name, timing in zip(DESK_FLOWS, (config.publish, config.regenerate), strict=True):
        when_text = (
            next_fire(timing.cron, timing.timezone, now).strftime("%Y-%m-%d %H:%M %Z")
            if timing.cron
            else "on demand"
        )
        table.add_row(name, "-", "-", timing.cron or "-", timing.timezone, when_text)
    if (tune := config.tune) is not None:
        when = next_fire(tune.cron, tune.timezone, now)
        table.add_row(
            "tune-model",
            tune.content_type,
            "approvals",
            tune.cron,
            tune.timezone,
            when.strftime("%Y-%m-%d %H:%M %Z"),
        )
    out.print(f"{config.path}", highlight=False)
    out.print(table)


@schedules_app.command("validate")
def validate_schedules() -> None:
    """Check copydesk.toml; print every problem (each naming its schedule); exit 1 if any."""
    path = config_path()
    config, problems = check_config(path)
    if problems or config is None:
        for problem in problems:
            err.print(f"{path}: {problem}", highlight=False, markup=False)
        raise typer.Exit(1)
    names = ", ".join(schedule.name for schedule in config.schedules) or "none"
    out.print(
        f"{path}: ok, {len(config.schedules)} schedule(s): {names}", highlight=False, markup=False
    )


def serve(
    limit: Annotated[
        int,
        typer.Option(
            help="At most this many flow runs at once (each is a process with its own model).",
            min=1,
        ),
    ] = 2,
) -> None:
    """Serve copydesk.toml's schedules on a Prefect server (PREFECT_API_URL).

    Registers one deployment per schedule (`process-inbox/NAME`, with its cron and
    timezone: each run makes a batch of every new file in the schedule's input), plus
    `publish-approved/publish-approved` and `regenerate-requested/regenerate-requested`
    (on the cron of the file's `publish` / `regenerate` tables, if given; otherwise on
    demand). Then it runs their flow runs (scheduled, from `copydesk trigger NAME`, or
    from the UI) in subprocesses until you stop it with Ctrl-C, which pauses the
    schedules until the next `serve`.

    Start a server first: `prefect server start` (UI on http://127.0.0.1:4200), and set
    PREFECT_API_URL=http://127.0.0.1:4200/api here and for `copydesk trigger`.
    """
    settings = get_settings()
    api = _require_server(settings, "copydesk serve")
    config = load_config()
    from copydesk.cli.home import ready_home

    ready_home()
    os.environ["COPYDESK_CONFIG"] = str(config.path)  # the flow runs read the same file
    _print_serving(config, api, _ui_url(settings, api))
    from flows.serve import serve_config

    serve_config(config, limit=limit)


def trigger(
    name: Annotated[
        str,
        typer.Argument(
            help="A schedule's name (process-inbox/NAME), publish-approved, "
            "regenerate-requested, or any FLOW/DEPLOYMENT."
        ),
    ],
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Print the new flow run and return at once.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(help="Stop waiting after this many seconds (default: until it ends).", min=0),
    ] = None,
) -> None:
    """Run a served deployment now (`copydesk serve` must be running); print the flow run's
    id and state. Waits for the run to end and exits 0 only if it completed."""
    settings = get_settings()
    api = _require_server(settings, "copydesk trigger")
    from flows.serve import trigger as run_now

    flow_run = run_now(name, wait=not no_wait, timeout=timeout)
    state = flow_run.state
    state_name = state.name if state else "unknown"
    out.print(
        f"flow run {flow_run.id} ({flow_run.name}) of {deployment_name(name)}: {state_name}",
        highlight=False,
        markup=False,
    )
    if state is not None and state.is_completed() and state.message:
        out.print(state.message, highlight=False, markup=False)  # e.g. files another run holds
    out.print(f"{_ui_url(settings, api)}/runs/flow-run/{flow_run.id}", highlight=False)
    if no_wait:
        return
    if state is None or not state.is_completed():
        if state is not None and not state.is_final():
            err.print(f"not finished after {timeout} s; it goes on", highlight=False)
        elif state is not None and state.message:
            err.print(state.message, highlight=False, markup=False)
        raise typer.Exit(1)


def _require_server(settings: Settings, command: str) -> str:
    from copydesk.cli.doctor import check_prefect

    if not settings.prefect_api_url:
        raise ConfigurationError(f"{command} {NEEDS_SERVER}")
    result = check_prefect(settings)
    if not result.ok:
        raise ConfigurationError(
            f"{command}: Prefect {result.detail} (is `prefect server start` running?)"
        )
    return settings.prefect_api_url.rstrip("/")


def _ui_url(settings: Settings, api: str) -> str:
    return (settings.prefect_ui_url or api.removesuffix("/api")).rstrip("/")


def _print_serving(config: DeskConfig, api: str, ui: str) -> None:
    table = Table("deployment", "cron", "timezone")
    for schedule in config.schedules:
        table.add_row(f"{INBOX_FLOW}/{schedule.name}", schedule.cron, schedule.timezone)
    for name, timing in zip(DESK_FLOWS, (config.publish, config.regenerate), strict=True):
        table.add_row(f"{name}/{name}", timing.cron or "(on demand)", timing.timezone)
    if config.tune is not None:
        table.add_row("tune-model/tune-model", config.tune.cron, config.tune.timezone)
    err.print(f"serving {config.path} on {api} (Ctrl-C stops):", highlight=False)
    err.print(table)
    err.print(
        f"run one now: copydesk trigger NAME; runs and schedules in the UI: {ui}/deployments",
        highlight=False,
    )
