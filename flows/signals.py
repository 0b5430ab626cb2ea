"""Prefect's side of stopping a flow run that runs in this process: inside a flow run,
Prefect turns SIGTERM into `TerminationSignal` (and marks the run crashed); the CLI asks
here which signal an exception stands for, so the core never imports Prefect."""

from __future__ import annotations

from prefect.exceptions import TerminationSignal


def termination_signal(exc: BaseException) -> int | None:
    """The signal number behind Prefect's `TerminationSignal`, or None for anything else."""
    return int(exc.signal) if isinstance(exc, TerminationSignal) else None
