"""Fixtures of the fault-injection suite: one Prefect server for every `copydesk`
subprocess of the suite (each would otherwise start an ephemeral API: ~15 s a run), a
fake model server with a gate, and a workspace for crash-point runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support import Copydesk, Gate, copydesk_env
from tests.support.openai_server import RunningServer, openai_server
from tests.support.processes import start_prefect_server


@pytest.fixture(scope="package")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_prefect_server(tmp_path_factory.mktemp("prefect-server"))
    try:
        yield server.api_url
    finally:
        server.stop()


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def model_server(gate: Gate) -> Iterator[RunningServer]:
    with openai_server(gate) as server:
        yield server


@pytest.fixture
def workspace(
    isolated_settings: Path, tmp_path: Path, prefect_api: str, model_server: RunningServer
) -> Iterator[Copydesk]:
    """A `copydesk` runner for this test's home (SQLite and the local store unless the
    test changes its `env`); whatever it still runs at the end is killed."""
    faults = tmp_path / "faults"
    faults.mkdir()
    env = copydesk_env(isolated_settings, prefect_api, model_server.url, faults)
    copydesk = Copydesk(env, tmp_path, faults)
    yield copydesk
    if copydesk.process is not None:
        copydesk.kill()
