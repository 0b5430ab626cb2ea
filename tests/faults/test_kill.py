"""kill -9 of the process running a batch, at several points, then a resume in a fresh
process: every input row ends exactly once (pending_review / quarantined), nothing is
duplicated, and the store holds exactly what the rows point to.

One batch is killed again and again, each resume dying at the next point (a crash
during a resume is the likelier one in practice), then a last resume finishes it:

1. ingest, inside the second ingest transaction (rows inserted, not committed);
2. generation, with a model call in flight (the chunk's other calls answered);
3. output, between two object-store puts (an item's documents stored, another's half);
4. output, inside the transaction that writes the chunk's revisions.

The batch runs through `copydesk run` / `copydesk run --resume` (tests/faults/crashpoints.py
adds the crash points) against the fake model server, under a real Prefect server. After
each kill, `batch_state` checks the invariants that must hold at any moment; objects
written before a kill and not yet pointed to by a revision are allowed only for items not
yet in review, and only content-addressed (the redo writes the same keys, so they stop
being orphans once it commits). On PostgreSQL + the S3 server: the two transaction points.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from copydesk.storage import LocalStore, ObjectStore
from db.models import Batch, Generation, ItemStatus
from db.session import get_engine, session_scope
from tests.conftest import s3_env
from tests.faults.support import (
    Copydesk,
    Gate,
    assert_complete,
    batch_state,
    s3_store,
    write_products,
)
from tests.support.services import PostgresServer, S3Server

pytestmark = pytest.mark.slow
CHUNK = 2  # items per chunk: 4 chunks of the 8 good rows
RUN = ["run", "products.csv", "--type", "product_description", "--chunk-size", str(CHUNK)]
SECTIONS = 3  # title, description, bullets: model calls per item


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend(
    request: pytest.FixtureRequest, workspace: Copydesk, isolated_settings: Path
) -> Iterator[tuple[str, str, ObjectStore]]:
    """(name, database URL, store): SQLite + the local store, or PostgreSQL + S3."""
    if request.param == "sqlite":
        url = f"sqlite:///{isolated_settings / 'copydesk.db'}"
        yield "sqlite", url, LocalStore(isolated_settings / "objects")
        return
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    s3: S3Server = request.getfixturevalue("s3_server")
    name = f"kill_{uuid.uuid4().hex[:10]}"
    url = postgres.create_database(name)
    settings = s3_env(s3, f"kill-{uuid.uuid4().hex[:10]}")
    workspace.env |= settings | {"COPYDESK_DATABASE_URL": url, "COPYDESK_S3_CREATE_BUCKET": "true"}
    store = s3_store(settings)
    yield "postgresql", url, store
    get_engine.cache_clear()
    postgres.drop_database(name)


def _batch_id(url: str) -> int:
    with session_scope(url, readonly=True) as session:
        return int(session.scalar(select(func.max(Batch.id))) or 0)


def _kill_in_ingest(copydesk: Copydesk, url: str, store: ObjectStore) -> None:
    copydesk.env["FAULT_INGEST_CHUNK"] = "4"  # 4 rows per ingest transaction
    copydesk.start(*RUN, points="ingest-txn:2").wait_reached("ingest-txn-2")
    copydesk.kill()
    del copydesk.env["FAULT_INGEST_CHUNK"]
    state = batch_state(url, store, _batch_id(url))
    # Rows 2-5 were committed (row 5 repeats row 3: one item); rows 6-9 rolled back.
    assert sorted(state.status.values()) == [ItemStatus.INGESTED] * 3
    assert state.batch_status == "running"


def _kill_in_generation(copydesk: Copydesk, gate: Gate, url: str, store: ObjectStore) -> None:
    batch_id = _batch_id(url)
    gate.arm(CHUNK * SECTIONS + 3)  # a call of the second chunk
    copydesk.start("run", "--resume", str(batch_id))
    copydesk.wait_for(gate.reached.is_set, "held model call")
    copydesk.kill()
    gate.release()
    gate.arm(None)
    state = batch_state(url, store, batch_id)
    assert len(state.items(ItemStatus.PENDING_REVIEW)) == CHUNK  # the first chunk
    assert len(state.items(ItemStatus.PLANNED)) == CHUNK  # the second: planned, not generated
    assert len(state.items(ItemStatus.INGESTED)) == 8 - 2 * CHUNK
    with session_scope(url, readonly=True) as session:
        generated = set(session.scalars(select(Generation.item_id).distinct()))
    assert generated == state.items(ItemStatus.PENDING_REVIEW)  # nothing of chunk 2 written
    assert not state.orphans


def _kill_between_puts(copydesk: Copydesk, url: str, store: ObjectStore) -> None:
    batch_id = _batch_id(url)
    copydesk.start("run", "--resume", str(batch_id), points="put:4").wait_reached("put-4")
    copydesk.kill()
    state = batch_state(url, store, batch_id)
    assert len(state.items(ItemStatus.REFINED)) == CHUNK
    assert len(state.orphans) == 4  # 3 documents of one item, 1 of the next


def _kill_in_output_transaction(copydesk: Copydesk, url: str, store: ObjectStore) -> None:
    batch_id = _batch_id(url)
    points = "output-txn:1"  # the chunk's items moved to review, not committed
    copydesk.start("run", "--resume", str(batch_id), points=points).wait_reached("output-txn-1")
    copydesk.kill()
    state = batch_state(url, store, batch_id)
    assert len(state.items(ItemStatus.REFINED)) == CHUNK  # rolled back: still refined
    assert len(state.orphans) == 3 * CHUNK  # stored, not yet pointed to


def test_kill_9_at_each_stage_then_resume(
    backend: tuple[str, str, ObjectStore], workspace: Copydesk, gate: Gate, tmp_path: Path
) -> None:
    name, url, store = backend
    expected = write_products(tmp_path / "products.csv", 8)

    _kill_in_ingest(workspace, url, store)
    if name == "sqlite":  # on PostgreSQL the first resume dies in chunk 1's output
        _kill_in_generation(workspace, gate, url, store)
        _kill_between_puts(workspace, url, store)
    _kill_in_output_transaction(workspace, url, store)
    workspace.start("run", "--resume", str(_batch_id(url)), "--json").succeed()

    state = batch_state(url, store, _batch_id(url))
    assert_complete(state, expected)
    assert state.counts() == {"pending_review": 8, "quarantined": 2}
    with session_scope(url, readonly=True) as session:
        per_item = session.execute(
            select(Generation.item_id, func.count()).group_by(Generation.item_id)
        ).all()
        assert sorted(n for _, n in per_item) == [SECTIONS] * 8  # one attempt per section
        if name == "sqlite":
            assert session.scalar(text("PRAGMA integrity_check")) == "ok"
    if isinstance(store, LocalStore):  # the files of the killed puts were swept by the resume
        assert not list(store.root.rglob(".tmp-*"))
