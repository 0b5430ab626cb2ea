"""Which signal an exception from an in-process flow run stands for."""

from __future__ import annotations

import signal

from prefect.exceptions import TerminationSignal

from copydesk.cli.interrupts import StopRequested, signal_of
from flows.signals import termination_signal


def test_prefects_termination_signal_names_its_signal() -> None:
    assert termination_signal(TerminationSignal(signal.SIGTERM)) == signal.SIGTERM
    assert termination_signal(RuntimeError("no")) is None


def test_the_cli_reads_every_interruption() -> None:
    assert signal_of(KeyboardInterrupt()) == signal.SIGINT
    assert signal_of(StopRequested(signal.SIGTERM)) == signal.SIGTERM
    assert signal_of(TerminationSignal(signal.SIGTERM)) == signal.SIGTERM
    assert signal_of(ValueError("a bug")) is None
