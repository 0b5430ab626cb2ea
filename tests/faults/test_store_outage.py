"""The S3 server goes away in the middle of the output stage.

A dedicated SeaweedFS server (not the session's shared one) is stopped while a batch's
second chunk is about to store its documents (the crash point `output:2` holds the run
until the server is down):

- the outage (~30 s) is shorter than the retry budget (COPYDESK_TASK_RETRIES /
  COPYDESK_TASK_RETRY_DELAYS): the output task keeps retrying, the server comes back,
  and the batch completes with every item in review;
- the outage outlasts the budget: the chunk's items end `failed` with a reason that
  names the store, nothing of theirs is written, the other chunks complete once the
  server is back, and a resume leaves the failed items failed (a resume does not retry
  failed items; see README "Fault injection").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Item, ItemStatus, Revision
from db.session import session_scope
from tests.conftest import s3_env
from tests.faults.support import Copydesk, assert_complete, batch_state, s3_store, write_products
from tests.support.services import S3Server, start_s3_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]
RUN = ["run", "products.csv", "--type", "product_description", "--chunk-size", "2", "--json"]
OUTAGE_S = 30


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3 server of this module's own, so stopping it disturbs no other test."""
    server = start_s3_server(tmp_path_factory.mktemp("outage-s3"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def on_s3(s3: S3Server, workspace: Copydesk, isolated_settings: Path) -> Iterator[dict[str, str]]:
    """The workspace pointed at a fresh bucket of `s3`; the server running again after."""
    settings = s3_env(s3, f"outage-{uuid.uuid4().hex[:10]}")
    workspace.env |= settings | {"COPYDESK_S3_CREATE_BUCKET": "true"}
    try:
        yield settings
    finally:
        if s3._proc is None:  # stopped by the test and not restarted (it failed)
            s3.restart()


def _url(home: Path) -> str:
    return f"sqlite:///{home / 'copydesk.db'}"


def _items(url: str) -> list[Item]:
    with session_scope(url, readonly=True) as session:
        items = list(session.scalars(select(Item).order_by(Item.id)))
        session.expunge_all()
        return items


def test_an_outage_shorter_than_the_retry_budget_is_ridden_out(
    s3: S3Server, on_s3: dict[str, str], workspace: Copydesk, isolated_settings: Path
) -> None:
    expected = write_products(workspace.cwd / "products.csv", 6)
    # Retries 2, 6, 10, ... 58 s after the first failure: well beyond the outage.
    workspace.env |= {"COPYDESK_TASK_RETRIES": "15", "COPYDESK_TASK_RETRY_DELAYS": "2,4"}
    url = _url(isolated_settings)

    workspace.start(*RUN, points="output:2").wait_reached("output-2")
    s3.stop()
    workspace.go("output-2")
    down_until = time.monotonic() + OUTAGE_S
    while time.monotonic() < down_until:
        assert workspace.proc.poll() is None, workspace.tail()
        time.sleep(0.5)
    chunk = [i for i in _items(url) if i.status == ItemStatus.REFINED]
    assert len(chunk) == 2, "the chunk waits for its retries, neither failed nor half-written"
    assert workspace.events("output") >= 4  # the first call of chunk 2 and retries
    s3.restart()
    workspace.succeed()

    state = batch_state(url, s3_store(on_s3), 1)
    assert_complete(state, expected)
    assert state.counts() == {"pending_review": 6, "quarantined": 2}


def test_an_outage_longer_than_the_budget_fails_only_its_chunk(
    s3: S3Server, on_s3: dict[str, str], workspace: Copydesk, isolated_settings: Path
) -> None:
    expected = write_products(workspace.cwd / "products.csv", 6)
    workspace.env |= {"COPYDESK_TASK_RETRIES": "1", "COPYDESK_TASK_RETRY_DELAYS": "1"}
    url = _url(isolated_settings)

    # output:2 is chunk 2's first try, output:3 its retry, output:4 chunk 3.
    workspace.start(*RUN, points="output:2,output:4").wait_reached("output-2")
    s3.stop()
    workspace.go("output-2")
    workspace.wait_reached("output-4")  # chunk 2 gave up; chunk 3 waits for the server
    failed = [i for i in _items(url) if i.status == ItemStatus.FAILED]
    assert len(failed) == 2
    for item in failed:
        assert item.error is not None and item.error.startswith("output failed after retries")
        assert (
            f"S3 server http://{s3.endpoint}" in item.error and "connection refused" in item.error
        )
    with session_scope(url, readonly=True) as session:
        ids = [i.id for i in failed]
        assert not session.scalars(select(Revision).where(Revision.item_id.in_(ids))).all()
    s3.restart()
    workspace.go("output-4")
    workspace.succeed()

    store = s3_store(on_s3)
    state = batch_state(url, store, 1)
    assert_complete(state, expected)  # and no objects of the failed items
    assert state.counts() == {"pending_review": 4, "failed": 2, "quarantined": 2}
    assert state.items(ItemStatus.FAILED) == set(ids)

    workspace.start("run", "--resume", "1", "--json").succeed()
    again = batch_state(url, store, 1)
    assert again.status == state.status and again.error == state.error
    assert not again.orphans
