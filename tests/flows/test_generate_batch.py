"""The generate-batch flow under Prefect's test harness."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from copydesk.content.types import load_content_type
from copydesk.pipeline.batch import start_batch
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.plan import plan_chunk
from copydesk.settings import get_settings
from copydesk.storage import create_store
from db.models import Batch, Generation, Item, ItemStatus, Plan, Revision
from db.repository import item_ids
from db.session import session_scope
from flows.generate_batch import generate_batch
from tests.flows.conftest import SAMPLES
from tests.support.fake_generator import FakeGenerator

PRODUCTS = SAMPLES / "product_description" / "samples" / "products.csv"


def _count(url: str, model: type, **where: object) -> int:
    with session_scope(url) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def test_samples_end_pending_review_with_outputs(database: str, fake: FakeGenerator) -> None:
    summary = generate_batch(source=str(PRODUCTS), content_type="product_description", chunk_size=3)

    total = summary["total"]
    assert total >= 8 and summary["counts"] == {"pending_review": total}
    assert _count(database, Generation) >= 3 * total  # title, description, bullets
    store = create_store(get_settings())
    with session_scope(database) as session:
        revisions = session.scalars(select(Revision)).all()
        assert len(revisions) == total
        for revision in revisions:
            assert set(revision.outputs) == {"markdown", "html", "json"}
            for output in revision.outputs.values():
                assert store.stat(output["key"]).sha256 == output["sha256"]
        runs = session.scalars(select(Generation.prefect_flow_run_id).distinct()).all()
        assert len(runs) == 1 and runs[0]
        batch = session.get_one(Batch, summary["batch_id"])
        assert batch.prefect_flow_run_id == runs[0]


def test_bad_rows_are_quarantined_and_the_rest_completes(
    database: str, fake: FakeGenerator, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(
        "name,brand,price,currency\n"
        "Desk Lamp,Lumo,45.00,USD\n"
        "Broken Chair,Sitwell,abc,USD\n"
        "Desk Lamp,Lumo,45.00,USD\n"  # a duplicate of row 2
        ",NoName,10,USD\n"
        "Shelf,Oakline,60,EUR\n"
    )
    summary = generate_batch(source=str(source), content_type="product_description")

    assert summary["counts"] == {"pending_review": 2, "quarantined": 2}
    with session_scope(database) as session:
        bad = session.scalars(
            select(Item).where(Item.status == ItemStatus.QUARANTINED).order_by(Item.row_number)
        ).all()
        assert [(i.row_number, i.error_field) for i in bad] == [(3, "price"), (5, "name")]
        assert all("products.csv:" in (i.error or "") for i in bad)


def test_resume_after_a_crash_between_stages_redoes_nothing(
    database: str, fake: FakeGenerator
) -> None:
    content_type = load_content_type("product_description")
    batch_id = start_batch(
        database, content_type="product_description", source=PRODUCTS, options={}
    )
    ingest_batch(database, batch_id)
    with session_scope(database) as session:
        ids = item_ids(session=session, batch_id=batch_id)
    plan_chunk(database, ids[:4], content_type)  # ... and the process died here
    plans_before = _count(database, Plan)

    summary = generate_batch(batch_id=batch_id, chunk_size=3)
    again = generate_batch(batch_id=batch_id, chunk_size=3)  # a second resume finds nothing to do

    assert summary["counts"] == {"pending_review": len(ids)} == again["counts"]
    assert plans_before == 4 and _count(database, Plan) == len(ids)
    assert _count(database, Item) == len(ids)
    assert _count(database, Revision) == len(ids)
    first_attempts = _count(database, Generation, attempt=1)
    assert first_attempts == 3 * len(ids)
    assert len(fake.history) == _count(database, Generation)


def test_a_chunk_that_keeps_failing_fails_its_items_and_the_batch_finishes(
    database: str, fake: FakeGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPYDESK_TASK_RETRY_DELAYS", "0")  # the flow applies it to its tasks
    get_settings.cache_clear()
    fake.fail_when = lambda request: "Beanie" in str(request.messages)
    summary = generate_batch(source=str(PRODUCTS), content_type="product_description", chunk_size=1)

    counts = summary["counts"]
    assert counts.get("failed", 0) >= 1 and counts.get("pending_review", 0) >= 1
    with session_scope(database) as session:
        failed = session.scalars(select(Item).where(Item.status == ItemStatus.FAILED)).all()
        assert all("generate failed after retries" in (i.error or "") for i in failed)


def test_failing_sections_are_retried_by_sampling_with_their_findings(
    database: str, fake: FakeGenerator
) -> None:
    fake.responder = lambda request: "A fine product."  # never carries the facts
    summary = generate_batch(source=str(PRODUCTS), content_type="product_description", limit=1)

    assert summary["counts"] == {"pending_review": 1}
    first, *_ = [
        r for r in fake.history if "previous answer had mistakes" not in r.messages[-1].content
    ]
    retried = [r for r in fake.history if "previous answer had mistakes" in r.messages[-1].content]
    assert first.decoding.greedy and retried
    assert all(not r.decoding.greedy for r in retried)  # sampling, so a retry can differ
    assert len({r.seed for r in retried}) == len(retried)
    assert "mention" in retried[0].messages[-1].content
    with session_scope(database) as session:
        attempts = session.scalars(
            select(Generation.attempt).where(Generation.section == "description")
        ).all()
        assert sorted(attempts) == [1, 2, 3]


def test_runs_are_named_and_artifacts_published(database: str, fake: FakeGenerator) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    summary = generate_batch(source=str(PRODUCTS), content_type="product_description", limit=2)
    batch_id = summary["batch_id"]

    async def read() -> tuple[list[str], list[str], dict[str, object]]:
        async with get_client() as client:
            with session_scope(database) as session:
                run_id = session.scalars(select(Generation.prefect_flow_run_id)).first()
            flow_run = await client.read_flow_run(run_id)
            task_runs = await client.read_task_runs()
            artifacts = await client.read_artifacts(  # keys repeat across test databases
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
            return [flow_run.name], [t.name for t in task_runs], {a.key: a.data for a in artifacts}

    flow_names, task_names, artifacts = asyncio.run(read())
    assert flow_names == ["product_description: products.csv"]
    assert {"plan chunk 1/1", "generate chunk 1/1", "refine chunk 1/1", "output chunk 1/1"} <= set(
        task_names
    )
    assert f"ingest batch {batch_id}" in task_names
    assert artifacts[f"batch-{batch_id}-progress"] == 100
    assert "pending_review | 2" in str(artifacts[f"batch-{batch_id}-summary"])
    assert f"(http://127.0.0.1:8000/queue?batch={batch_id})" in str(
        artifacts[f"batch-{batch_id}-summary"]
    )
    assert "batches/" in str(artifacts[f"batch-{batch_id}-items"])
    assert "http://127.0.0.1:8000/items/" in str(artifacts[f"batch-{batch_id}-items"])


def test_a_batch_the_model_barely_wrote_says_so_in_its_state_and_logs(
    database: str, fake: FakeGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import logging
    import time

    # INFO, whatever an earlier test's CLI call left in this process's logging set-up
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    fake.responder = lambda request: "Nothing to see here."  # every section falls back
    state = generate_batch(
        source=str(PRODUCTS), content_type="product_description", limit=2, return_state=True
    )
    assert state.is_completed() and state.name == "Mostly fallback"
    assert "0 written by the model" in (state.message or "")
    summary = state.result()
    assert summary["counts"] == {"pending_review": 2}

    async def logs() -> list[str]:
        async with get_client() as client:
            with session_scope(database) as session:
                run_id = session.scalars(select(Generation.prefect_flow_run_id)).first()
            found = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            return [log.message for log in found if log.level == 20]  # INFO

    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs reach the API in the background
    deadline, messages = time.monotonic() + 30, asyncio.run(logs())
    while not any("the model wrote little" in m for m in messages) and time.monotonic() < deadline:
        time.sleep(0.5)  # bounded: the worker may still be sending the last batch
        messages = asyncio.run(logs())
    assert any(m.startswith("refine chunk 1/1: 2 done, 0 failed") for m in messages), messages
    assert any("the model wrote little of it" in m for m in messages)
