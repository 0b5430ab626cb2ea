"""Long-running commands for tests: a real `prefect server start`, `copydesk serve`.

Each runs in its own process group (so its children go with it), logs to a file, and
is stopped with SIGTERM then SIGKILL, every wait bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.services import _log_tail, free_port

VENV_BIN = Path(sys.executable).parent


@dataclass
class Background:
    """A command running in its own process group, its output in `log`."""

    argv: list[str]
    log: Path
    env: dict[str, str]
    cwd: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Background:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 60) -> str:
        return _log_tail(self.log, lines)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM to the group, then SIGKILL after `grace` seconds; reaps the leader."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # children that outlived the leader
            os.killpg(self.proc.pid, signal.SIGKILL)


@dataclass
class PrefectServer:
    api_url: str
    ui_url: str
    process: Background

    def stop(self) -> None:
        self.process.stop()


def prefect_env(api_url: str, home: Path) -> dict[str, str]:
    """The environment a Prefect client or server needs for this test server."""
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_UI_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def start_prefect_server(folder: Path, timeout: float = 90.0) -> PrefectServer:
    """`prefect server start` on a free port of 127.0.0.1 (SQLite in `folder`), healthy."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, **prefect_env(api, folder / "prefect-home")}
    argv = [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
    process = Background(
        [*argv, "--port", str(port)], folder / "prefect-server.log", env, folder
    ).start()
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        if not process.running():
            raise RuntimeError(f"prefect server exited; log tail:\n{process.tail()}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return PrefectServer(api, f"http://127.0.0.1:{port}", process)
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    process.stop()
    raise RuntimeError(f"prefect server not healthy after {timeout}s ({last}):\n{process.tail()}")
