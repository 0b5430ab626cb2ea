"""PostgreSQL restarts in the middle of a batch (a server of this test's own).

Twice: once while a model call is in flight (the pooled connections die idle:
`pool_pre_ping` replaces them), and once inside the output stage's transaction (the
connection dies under it: the transaction rolls back, the task fails and its retry
redoes the chunk). The batch completes with every item in review and nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copydesk.storage import LocalStore
from db.session import get_engine
from tests.faults.support import Copydesk, Gate, assert_complete, batch_state, write_products
from tests.support.services import PostgresServer, start_postgres

pytestmark = [pytest.mark.slow, pytest.mark.integration]
RUN = ["run", "products.csv", "--type", "product_description", "--chunk-size", "2", "--json"]


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path / "pg")
    try:
        yield server
    finally:
        get_engine.cache_clear()
        server.stop()


def test_a_batch_rides_out_two_database_restarts(
    postgres: PostgresServer, workspace: Copydesk, gate: Gate, isolated_settings: Path
) -> None:
    url = postgres.create_database("copydesk")
    workspace.env["COPYDESK_DATABASE_URL"] = url
    expected = write_products(workspace.cwd / "products.csv", 6)

    gate.arm(8)  # chunk 2's generation (2 items x 3 sections a chunk)
    workspace.start(*RUN, points="output-txn:2")  # chunk 2's output transaction
    workspace.wait_for(gate.reached.is_set, "held model call")
    postgres.restart()
    gate.release()
    workspace.wait_reached("output-txn-2")
    postgres.restart()
    workspace.go("output-txn-2")
    workspace.succeed()

    state = batch_state(url, LocalStore(isolated_settings / "objects"), 1)
    assert_complete(state, expected)
    assert state.counts() == {"pending_review": 6, "quarantined": 2}
    assert workspace.events("generate") == 3  # no retry: pre-ping replaced the connections
    assert workspace.events("output") == 4  # 3 chunks, and the retry of chunk 2
