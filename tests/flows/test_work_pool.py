"""The work-pool path for real: `prefect work-pool create`, `prefect deploy --all` of
prefect.yaml, a flow run of generate-batch/generate-batch, and `prefect worker start
--pool copydesk --run-once` executing it in a subprocess, as a worker machine would.

Against the session's Prefect test server; the text model is the OpenAI-compatible test
server (the flow run is another process: a monkeypatched fake would not reach it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL
from sqlalchemy import select

from copydesk.settings import REPO_ROOT, get_settings
from db.models import Item, ItemStatus
from db.session import session_scope
from tests.flows.conftest import SAMPLES
from tests.support.openai_server import openai_server

pytestmark = pytest.mark.slow

PREFECT = str(Path(sys.executable).parent / "prefect")
PRODUCTS = SAMPLES / "product_description" / "samples" / "products.csv"


def echo_facts(body: dict[str, Any]) -> str:
    prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
    facts = [line.split(":", 1)[1].strip() for line in prompt.splitlines() if ":" in line]
    return "This item: " + "; ".join(facts) + "."


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment a worker machine has: the API, the database, the model server."""
    with openai_server(echo_facts) as server:
        monkeypatch.setenv("COPYDESK_TEXT_BACKEND", "openai")
        monkeypatch.setenv("COPYDESK_OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("COPYDESK_OPENAI_MODEL", "echo")
        get_settings.cache_clear()
        yield {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}


def prefect(env: dict[str, str], *args: str, timeout: float = 240) -> str:
    result = subprocess.run(
        [PREFECT, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


async def _deployments() -> dict[str, Any]:
    async with get_client() as client:
        return {d.name: d for d in await client.read_deployments()}


async def _state_of(flow_run_id: Any) -> str:
    async with get_client() as client:
        return (await client.read_flow_run(flow_run_id)).state_name or ""


def test_a_process_pool_worker_runs_a_deployed_generate_batch(
    database: str, worker_env: dict[str, str]
) -> None:
    for pool in ("copydesk", "copydesk-gpu"):
        prefect(worker_env, "work-pool", "create", pool, "--type", "process", "--overwrite")
    prefect(worker_env, "--no-prompt", "deploy", "--all")

    deployed = asyncio.run(_deployments())
    assert {"generate-batch", "generate-batch-gpu", "publish-approved"} <= set(deployed)
    assert deployed["generate-batch-gpu"].work_pool_name == "copydesk-gpu"
    batch = deployed["generate-batch"]
    assert batch.work_pool_name == "copydesk"
    assert batch.entrypoint == "flows/generate_batch.py:generate_batch"
    step = batch.pull_steps[0]["prefect.deployments.steps.set_working_directory"]
    assert Path(step["directory"]) == REPO_ROOT  # where `prefect deploy` ran

    run = run_deployment(
        "generate-batch/generate-batch",
        parameters={"source": str(PRODUCTS), "content_type": "product_description", "limit": 3},
        timeout=0,  # only create it: the worker below picks it up
    )
    assert isinstance(run, FlowRun)
    output = prefect(worker_env, "worker", "start", "--pool", "copydesk", "--run-once")

    assert asyncio.run(_state_of(run.id)) == "Completed", output
    with session_scope(database) as session:
        statuses = list(session.scalars(select(Item.status)))
    assert statuses == [ItemStatus.PENDING_REVIEW] * 3
