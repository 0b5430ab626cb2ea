"""SIGTERM (what `kill PID`, systemd or a container stop send) and Ctrl-C to `copydesk run`
while a model call is in flight: the process ends within seconds, the batch is left
resumable, and `--resume` completes it with every item written once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from copydesk.storage import LocalStore
from db.models import Batch, Generation, ItemStatus
from db.session import session_scope
from tests.faults.support import Copydesk, Gate, assert_complete, batch_state, write_products

pytestmark = pytest.mark.slow
CHUNK = 2
RUN = ["run", "products.csv", "--type", "product_description", "--chunk-size", str(CHUNK)]
SECTIONS = 3  # model calls per item
STOP_WITHIN_S = 10.0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_mid_generation_stops_within_seconds_and_resume_completes(
    signum: int, workspace: Copydesk, gate: Gate, isolated_settings: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{isolated_settings / 'copydesk.db'}"
    store = LocalStore(isolated_settings / "objects")
    expected = write_products(tmp_path / "products.csv", 8)
    gate.arm(CHUNK * SECTIONS + 2)  # a model call of the second chunk, held (up to 60 s)
    workspace.start(*RUN)
    workspace.wait_for(gate.reached.is_set, "held model call")

    sent = time.monotonic()
    os.kill(workspace.proc.pid, signum)  # the process, as `kill PID` does: not its group
    code = workspace.finish(timeout=30)
    took = time.monotonic() - sent
    gate.release()
    gate.arm(None)
    assert took < STOP_WITHIN_S, f"took {took:.1f}s to stop:\n{workspace.tail()}"
    assert code != 0  # interrupted, not a success
    assert "--resume" in workspace.tail(), workspace.tail()  # says how to go on

    with session_scope(url, readonly=True) as session:
        batch_id = int(session.scalar(select(func.max(Batch.id))) or 0)
    state = batch_state(url, store, batch_id)
    assert len(state.items(ItemStatus.PENDING_REVIEW)) == CHUNK  # the first chunk is kept

    workspace.start("run", "--resume", str(batch_id), "--json").succeed()
    state = batch_state(url, store, batch_id)
    assert_complete(state, expected)
    with session_scope(url, readonly=True) as session:
        per_item = session.execute(
            select(Generation.item_id, func.count()).group_by(Generation.item_id)
        ).all()
    assert sorted(n for _, n in per_item) == [SECTIONS] * 8  # nothing written twice
