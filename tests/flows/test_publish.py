"""The publish-approved flow under Prefect's test harness, and `copydesk publish`."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from copydesk.cli import app
from copydesk.desk import decisions
from copydesk.settings import get_settings
from copydesk.storage import create_store
from db.models import Item, ItemStatus, Publication
from db.session import session_scope
from flows.publish import publish_approved
from tests.support.desk import editor, reviewable_batch


def approve_first(url: str, ids: list[int], n: int) -> None:
    alice, _ = editor(url, "alice")
    for item_id in ids[:n]:
        with session_scope(url, readonly=True) as session:
            version = session.get_one(Item, item_id).version
        decisions.approve(url, alice, item_id, version)


def artifacts_of(flow_run_id: str) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read() -> dict[str, object]:
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )
            return {str(a.key): a.data for a in artifacts}

    return asyncio.run(read())


def test_flow_publishes_and_reports(database: str) -> None:
    store = create_store(get_settings())
    batch_id, ids = reviewable_batch(database, store)
    approve_first(database, ids, 3)

    summary = publish_approved(batch_id=batch_id)

    assert (summary["items"], summary["documents"], summary["skipped"]) == (3, 9, {})
    key = summary["manifests"]["restaurant"]
    assert len(json.loads(store.get(key))["items"]) == 3
    with session_scope(database, readonly=True) as session:
        rows = session.scalars(select(Publication)).all()
        run_ids = {row.prefect_flow_run_id for row in rows}
        statuses = [session.get_one(Item, i).status for i in ids[:4]]
    assert len(rows) == 9 and len(run_ids) == 1 and None not in run_ids
    assert statuses == [ItemStatus.PUBLISHED] * 3 + [ItemStatus.PENDING_REVIEW]
    report = str(artifacts_of(str(run_ids.pop()))[f"publish-batch-{batch_id}"])
    assert "items published: **3** (9 documents)" in report and key in report

    again = publish_approved(batch_id=batch_id)
    assert (again["items"], again["manifests"]) == (0, {})


def test_cli_publish_runs_the_flow(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = create_store(get_settings())
    _, ids = reviewable_batch(database, store)
    approve_first(database, ids, 2)
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")  # `publish` sets it; restore it after

    result = CliRunner().invoke(app, ["publish", "--all"])

    assert result.exit_code == 0, result.output
    assert "published 2 item(s) of all batches (6 documents)" in result.stdout
    assert "manifest (restaurant): published/restaurant/manifests/" in result.stdout
    again = CliRunner().invoke(app, ["publish", "--all"])
    assert "published 0 item(s)" in again.stdout and "manifest" not in again.stdout
