"""generate-batch with COPYDESK_TASK_RUNNER=dask: chunks spread over 2-process LocalClusters.

The text model is the OpenAI-compatible HTTP server of tests/support (on 127.0.0.1 in
this process), not a monkeypatched fake: the chunks run in Dask worker processes, which
see only what they import and the environment they inherit, so the generator has to be
reachable from there, as a real model server is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from copydesk.settings import get_settings
from db.models import Item, ItemStatus
from db.session import session_scope
from flows.generate_batch import generate_batch
from tests.flows.conftest import SAMPLES
from tests.support.openai_server import Refusal, RunningServer, openai_server

distributed = pytest.importorskip("distributed")
pytest.importorskip("prefect_dask")

pytestmark = pytest.mark.slow

PRODUCTS = SAMPLES / "product_description" / "samples" / "products.csv"


def echo_facts(body: dict[str, Any], refuse: str | None = None) -> str:
    """Say every `label: value` line of the prompt back, so the checks pass; refuse (400)
    prompts that mention `refuse`."""
    prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
    if refuse and refuse in prompt:
        raise Refusal(400, "this model does not do hats")
    facts = [line.split(":", 1)[1].strip() for line in prompt.splitlines() if ":" in line]
    return "This item: " + "; ".join(facts) + "."


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    with openai_server(echo_facts) as server:
        monkeypatch.setenv("COPYDESK_TEXT_BACKEND", "openai")
        monkeypatch.setenv("COPYDESK_OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("COPYDESK_OPENAI_MODEL", "echo")
        monkeypatch.setenv("COPYDESK_TASK_RUNNER", "dask")
        get_settings.cache_clear()
        yield server


def _items(url: str) -> list[Item]:
    with session_scope(url) as session:
        items = session.scalars(select(Item).order_by(Item.row_number)).all()
        session.expunge_all()
        return list(items)


def test_a_local_cluster_runs_the_chunks_and_a_failing_chunk_fails_its_items(
    database: str, model_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_server.state.responder = partial(echo_facts, refuse="Beanie")
    # Applied by the flow (with_options): the task travels to the workers with it. No waits.
    monkeypatch.setenv("COPYDESK_TASK_RETRY_DELAYS", "0")
    monkeypatch.setenv("COPYDESK_DASK_WORKERS", "2")
    get_settings.cache_clear()

    summary = generate_batch(source=str(PRODUCTS), content_type="product_description", chunk_size=2)

    items = _items(database)
    failed = [item for item in items if item.status == ItemStatus.FAILED]
    beanie = next(item for item in items if "Beanie" in str(item.input_record))
    assert beanie in failed and len(failed) == 2  # the Beanie's chunk, and only that one
    assert all("generate failed after retries" in (item.error or "") for item in failed)
    assert all("does not do hats" in (item.error or "") for item in failed)
    assert summary["counts"] == {"pending_review": len(items) - 2, "failed": 2}
    assert summary["total"] == len(items) >= 8


def test_chunks_spread_over_the_workers_of_an_existing_scheduler(
    database: str, model_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:  # its workers inherit this test's COPYDESK_* environment
        monkeypatch.setenv("COPYDESK_DASK_ADDRESS", cluster.scheduler_address)
        get_settings.cache_clear()

        summary = generate_batch(
            source=str(PRODUCTS), content_type="product_description", chunk_size=2
        )

        with distributed.Client(cluster) as client:
            workers = client.run(
                lambda dask_worker: (os.getpid(), dask_worker.state.executed_count)
            )
    assert summary["counts"] == {"pending_review": summary["total"]}
    chunks = -(-summary["total"] // 2)
    pids = {pid for pid, _ in workers.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    assert sum(count for _, count in workers.values()) == 4 * chunks  # every stage of every chunk
    assert all(count > 0 for _, count in workers.values())  # both processes did some
