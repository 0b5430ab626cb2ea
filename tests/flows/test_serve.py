"""Server mode for real: `prefect server start`, `copydesk serve`, `copydesk trigger`.

A real Prefect server (SQLite in tmp_path) and `copydesk serve` run as subprocesses; the
text model is a real OpenAI-compatible HTTP server with canned answers (this test is about
scheduling, not text). Two files dropped in the watched inbox become two batches exactly
once, however many runs (triggered or by the every-minute cron) look at them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
import pytest
from prefect.client.schemas.schedules import CronSchedule
from sqlalchemy import func, select

from copydesk.settings import get_settings
from db.models import Batch, InboxFile, Item
from db.session import session_scope
from tests.support.openai_server import RunningServer, openai_server
from tests.support.processes import Background, PrefectServer, prefect_env, start_prefect_server
from tests.support.services import _log_tail

if TYPE_CHECKING:
    from prefect.client.schemas.responses import DeploymentResponse

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CONFIG = """
[[schedules]]
name = "restaurants"
content_type = "restaurant"
input = "inbox/"
cron = "* * * * *"
max_attempts = 1
"""
FILES = {
    "a.csv": 'mr\n"name[Alimentum], area[city centre], familyFriendly[no]"\n',
    "b.csv": 'mr\n"name[Browns Cambridge], food[English], area[riverside]"\n'
    '"name[Cotto], food[Italian], area[city centre]"\n',
}
SUMMARY = re.compile(
    r"inbox restaurants: 2 file\(s\), (?P<new>\d) new, (?P<run>\d) batch\(es\) run, 0 failed"
    r"(?:; (?P<done>\d) done by another run)?"
    r"(?:; (?P<held>\d) still in progress in another run, not done yet: .*)?"
)
RUN_LINE = re.compile(r"flow run ([0-9a-f-]{36}) \(.*\) of process-inbox/restaurants: (\w+)")


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[PrefectServer]:
    server = start_prefect_server(tmp_path / "prefect")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def model_server() -> Iterator[RunningServer]:
    with openai_server(lambda body: "A place to eat in the city centre.") as server:
        yield server


@pytest.fixture
def env(
    prefect_server: PrefectServer, model_server: RunningServer, isolated_settings: Path
) -> dict[str, str]:
    return {
        **os.environ,
        **prefect_env(prefect_server.api_url, isolated_settings.parent / "client-prefect"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "COPYDESK_HOME": str(isolated_settings),
        "COPYDESK_TEXT_BACKEND": "openai",
        "COPYDESK_OPENAI_BASE_URL": f"{model_server.url}/v1",
        "COPYDESK_OPENAI_MODEL": "canned",
        "COLUMNS": "200",
    }


def copydesk(
    env: dict[str, str], *args: str, timeout: float = 150
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "copydesk.cli", *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip


def wait_for(what: str, check: Any, timeout: float, serve: Background) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert serve.running(), f"copydesk serve exited:\n{serve.tail()}\n{_server_log(serve)}"
        if result := check():
            return result
        time.sleep(0.5)
    pytest.fail(f"{what} after {timeout}s; copydesk serve log:\n{serve.tail()}")


def _server_log(serve: Background) -> str:
    return "prefect server log:\n" + _log_tail(serve.cwd / "prefect" / "prefect-server.log")


def counts(url: str) -> tuple[int, int, set[str], set[str]]:
    with session_scope(url, readonly=True) as session:
        batches = session.scalar(select(func.count()).select_from(Batch)) or 0
        files = session.scalars(select(InboxFile)).all()
        statuses = set(session.scalars(select(Item.status).distinct()))
        return batches, len(files), {f.status for f in files}, statuses


def test_serve_runs_each_dropped_file_once(
    tmp_path: Path, env: dict[str, str], prefect_server: PrefectServer
) -> None:
    (tmp_path / "copydesk.toml").write_text(CONFIG)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    api = prefect_server.api_url
    serve = Background(
        [sys.executable, "-m", "copydesk.cli", "serve"], tmp_path / "serve.log", env, tmp_path
    ).start()
    try:
        wait_for(  # serve registers them one by one, this one last
            "no deployment regenerate-requested/regenerate-requested",
            lambda: _deployment(api, "regenerate-requested/regenerate-requested"),
            90,
            serve,
        )
        deployment = _deployment(api, "process-inbox/restaurants")
        assert deployment is not None
        (schedule,) = deployment.schedules
        assert isinstance(schedule.schedule, CronSchedule)
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("* * * * *", "UTC")
        assert schedule.active and deployment.parameters == {"schedule": "restaurants"}
        publish = _deployment(api, "publish-approved/publish-approved")
        assert publish is not None and publish.schedules == []
        for name, text in FILES.items():
            (inbox / name).write_text(text)

        first = copydesk(env, "trigger", "restaurants")

        assert first.returncode == 0, first.stdout + first.stderr + serve.tail()
        assert RUN_LINE.search(first.stdout).group(2) == "Completed"  # type: ignore[union-attr]
        url = get_settings().resolved_database_url
        # "Completed" promises this run's own files are done. A cron tick at the same
        # moment may have claimed a file first: the summary names it, and it is done when
        # that run ends.
        summary = SUMMARY.search(first.stdout)
        assert summary is not None, first.stdout
        print(summary.group(0))  # shown with -s: the evidence of a concurrent cron run
        new, run, done, held = (int(summary.group(g) or 0) for g in ("new", "run", "done", "held"))
        assert run + done + held == new, summary.group(0)
        if done or held:  # the evidence: which runs took which file
            print("\n".join(line for line in serve.tail(400).splitlines() if "inbox" in line))
        if held:
            wait_for(
                "a file the cron's run held is not done",
                lambda: counts(url) == (2, 2, {"done"}, {"pending_review"}),
                120,
                serve,
            )
        assert counts(url) == (2, 2, {"done"}, {"pending_review"})
        with session_scope(url, readonly=True) as session:  # made by runs of this server
            assert all(session.scalars(select(Batch.prefect_flow_run_id)))

        queued = copydesk(env, "trigger", "restaurants", "--no-wait")
        assert queued.returncode == 0, queued.stderr
        run_id, state = RUN_LINE.search(queued.stdout).groups()  # type: ignore[union-attr]
        assert state in ("Scheduled", "Pending")
        wait_for("the --no-wait run did not end", lambda: _final(api, run_id), 90, serve)
        third = copydesk(env, "trigger", "restaurants")
        assert third.returncode == 0, third.stdout + third.stderr

        assert counts(url) == (2, 2, {"done"}, {"pending_review"})  # nothing new
        assert "inbox restaurants: 2 file(s), 0 new" in serve.tail(400)
        unknown = copydesk(env, "trigger", "nope")
        assert unknown.returncode == 1
        assert "no deployment 'process-inbox/nope'" in unknown.stderr
        assert "Traceback" not in unknown.stderr
    finally:
        serve.stop()


def _deployment(api: str, name: str) -> DeploymentResponse | None:
    """The deployment as the Prefect client reads it from that server (None: not yet)."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.exceptions import ObjectNotFound

    try:
        with SyncPrefectClient(api) as client:
            return client.read_deployment_by_name(name)
    except (ObjectNotFound, httpx.HTTPError):
        return None


def _final(api: str, run_id: str) -> bool:
    response = httpx.get(f"{api}/flow_runs/{UUID(run_id)}", timeout=5)
    state = response.json().get("state") or {}
    return state.get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
