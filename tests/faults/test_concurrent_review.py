"""Editors decide while a batch is still running on the same database.

A batch of many one-item chunks runs in a `copydesk run` subprocess (the fake model
server answering each call after 20 ms) while two editors, in two threads, take
decisions on its items as they reach review: alice edits every other item and approves
everything, bob rejects every third item and approves the rest, so they race on the same
items. On SQLite (WAL) and PostgreSQL:

- nothing surfaces but `ConflictError` for a genuinely stale version: no "database is
  locked", no deadlock, in the editors' threads or in the batch's log;
- an editor who gets a conflict reloads the item and, if it is still in review (the other
  editor edited it), decides once more with the fresh version;
- no decision is lost: every successful decision has its review row, nothing else has
  one, and each item's status is what its last decision made it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.desk.decisions import ConflictError, Decided, approve, edit, reject
from copydesk.desk.editors import EditorInfo
from copydesk.storage import LocalStore, ObjectStore
from db import migrate
from db import repository as repo
from db.models import Item, ItemStatus, Review
from db.session import get_engine, session_scope
from tests.faults.support import Copydesk, Gate, batch_state, write_products
from tests.support.desk import editor
from tests.support.services import PostgresServer

pytestmark = pytest.mark.slow
ITEMS = 12
STATUS_AFTER = {"approve": "approved", "reject": "rejected", "edit": "pending_review"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(
    request: pytest.FixtureRequest, workspace: Copydesk, isolated_settings: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{isolated_settings / 'copydesk.db'}"
        return
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"desk_{uuid.uuid4().hex[:10]}"
    workspace.env["COPYDESK_DATABASE_URL"] = postgres.create_database(name)
    yield workspace.env["COPYDESK_DATABASE_URL"]
    get_engine.cache_clear()
    postgres.drop_database(name)


@dataclass
class Desk:
    """One editor's thread: decide on every item that reaches review, once each."""

    url: str
    store: ObjectStore
    editor: EditorInfo
    plan: Callable[[int], list[str]]  # item id -> the decisions to take, in order
    batch_running: Callable[[], bool]
    decided: list[tuple[str, Decided, bool]] = field(default_factory=list)  # (+ during batch)
    conflicts: int = 0
    retried: int = 0
    lost_edits: set[int] = field(default_factory=set)  # stored documents, then a conflict
    errors: list[BaseException] = field(default_factory=list)

    def run(self, deadline: float) -> None:
        done: set[int] = set()
        try:
            while time.monotonic() < deadline:
                running = self.batch_running()
                waiting = [i for i in self._in_review() if i not in done]
                for item_id in waiting:
                    for decision in self.plan(item_id):
                        if not self._decide(item_id, decision):
                            break  # the other editor decided it: nothing more to do
                    done.add(item_id)
                if not running and not waiting:
                    return
                time.sleep(0.05)
        except BaseException as exc:  # anything but a conflict fails the test
            self.errors.append(exc)

    def _in_review(self) -> list[int]:
        with session_scope(self.url, readonly=True) as session:
            query = select(Item.id).where(Item.status == ItemStatus.PENDING_REVIEW)
            return list(session.scalars(query.order_by(Item.id)))

    def _current(self, item_id: int) -> tuple[str, int, dict[str, str]]:
        with session_scope(self.url, readonly=True) as session:
            item = session.get_one(Item, item_id)
            revision = repo.latest_revision(session=session, item_id=item_id)
            assert revision is not None
            return item.status, item.version, dict(revision.sections)

    def _decide(self, item_id: int, decision: str) -> bool:
        """Take `decision` on the item's current version; on a conflict, reload and try
        once more if it is still in review. False: someone else decided it."""
        for attempt in (1, 2):
            status, version, sections = self._current(item_id)
            if status != ItemStatus.PENDING_REVIEW:
                return False
            self.retried += attempt == 2
            try:
                decided = self._call(decision, item_id, version, sections)
            except ConflictError:
                self.conflicts += 1
                if decision == "edit":
                    self.lost_edits.add(item_id)
                continue
            self.decided.append((decision, decided, self.batch_running()))
            return True
        return False

    def _call(self, decision: str, item_id: int, version: int, sections: dict[str, str]) -> Decided:
        if decision == "approve":
            return approve(self.url, self.editor, item_id, version)
        if decision == "reject":
            return reject(
                self.url, self.editor, item_id, version, f"not for us ({self.editor.name})"
            )
        sections["description"] += f" Checked by {self.editor.name}."
        return edit(self.url, self.editor, item_id, version, sections, self.store)


def test_editors_decide_while_the_batch_runs(
    url: str, workspace: Copydesk, gate: Gate, isolated_settings: Path
) -> None:
    migrate.upgrade(url)
    alice, bob = editor(url, "alice")[0], editor(url, "bob")[0]
    store = LocalStore(isolated_settings / "objects")
    write_products(workspace.cwd / "products.csv", ITEMS)
    gate.delay_s = 0.02
    run = ["run", "products.csv", "--type", "product_description", "--chunk-size", "1"]
    workspace.start(*run, "--json")

    def running() -> bool:
        return workspace.proc.poll() is None

    desks = [
        Desk(url, store, alice, lambda i: ["edit", "approve"] if i % 2 else ["approve"], running),
        Desk(url, store, bob, lambda i: ["reject"] if i % 3 == 0 else ["approve"], running),
    ]
    deadline = time.monotonic() + 150
    threads = [threading.Thread(target=desk.run, args=(deadline,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 5))
    workspace.succeed(timeout=10)

    assert not any(thread.is_alive() for thread in threads)
    assert [e for desk in desks for e in desk.errors] == []
    log = workspace.tail(10_000).lower()
    assert "database is locked" not in log and "deadlock" not in log
    decided = [entry for desk in desks for entry in desk.decided]
    assert any(during for _, _, during in decided), "no decision overlapped the batch"
    print(
        f"{len(decided)} decisions ({sum(d for _, _, d in decided)} while the batch ran), "
        f"{sum(desk.conflicts for desk in desks)} conflicts, "
        f"{sum(desk.retried for desk in desks)} retried with the fresh version"
    )
    by_item: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for desk in desks:
        for decision, result, _ in desk.decided:
            by_item[result.item_id].append((result.review_id, decision, desk.editor.id))
    with session_scope(url, readonly=True) as session:
        reviews = session.execute(
            select(Review.id, Review.item_id, Review.decision, Review.editor_id).order_by(Review.id)
        ).all()
        status = dict(session.execute(select(Item.id, Item.status)).tuples().all())
    recorded: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for review_id, item_id, decision, editor_id in reviews:
        recorded[item_id].append((review_id, decision, editor_id))
    assert recorded == {item: sorted(entries) for item, entries in by_item.items()}
    for item_id, item_status in status.items():
        if item_id in recorded:
            assert item_status == STATUS_AFTER[recorded[item_id][-1][1]], item_id
    assert sum(s != ItemStatus.QUARANTINED for s in status.values()) == ITEMS
    assert set(status.values()) <= {"pending_review", "approved", "rejected", "quarantined"}
    # The editors' revisions' objects are there; the only objects no row points to are
    # those of edits that lost their race (stored before the decision's transaction).
    lost = {item for desk in desks for item in desk.lost_edits}
    state = batch_state(url, store, 1, lost_edits=lost)
    assert state.batch_status == "completed"
