"""Ctrl-C and SIGTERM (`kill PID`, systemd, a container stop) during `copydesk run`: the
process ends within seconds and says how to resume; the batch stays as the crash-safe
stages left it (`copydesk run --resume N` redoes only unfinished work).

Inside the flow Prefect's own handler turns SIGTERM into `TerminationSignal` (the run is
marked crashed; `flows.signals` reads it); before and after it, `stop_on_sigterm` raises
`StopRequested` instead.
Exiting must not wait for work still in flight on other threads (an HTTP call to a model
server can take minutes): `exit_now` runs the exit handlers (logging, Prefect's ephemeral
server) and then ends the process without joining those threads.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn


class StopRequested(BaseException):  # a signal, not an error (like KeyboardInterrupt)
    """SIGTERM, raised in the main thread."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signum)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM raises `StopRequested` in the main thread while the block runs."""
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def signal_of(exc: BaseException) -> int | None:
    """The signal behind an interruption (Ctrl-C, SIGTERM, Prefect's TerminationSignal),
    or None for anything else."""
    if isinstance(exc, KeyboardInterrupt):
        return signal.SIGINT
    if isinstance(exc, StopRequested):
        return exc.signum
    from flows.signals import termination_signal

    return termination_signal(exc)


def exit_now(signum: int) -> NoReturn:
    """Flush, run the exit handlers, end with status 128 + signum (the shell's convention)
    without waiting for other threads."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # logging.shutdown, Prefect's ephemeral server, …
    os._exit(128 + signum)
