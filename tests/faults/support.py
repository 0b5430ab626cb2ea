"""What the fault-injection tests share: a gated model server, `copydesk` subprocesses
with crash points, an input file, and the invariants a batch must keep after any crash.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from copydesk.content.outline import Outline
from copydesk.hashing import sha256_bytes
from copydesk.settings import REPO_ROOT, Settings
from copydesk.storage import ObjectStore
from copydesk.storage.s3 import S3Store
from db.models import Batch, Generation, Item, ItemStatus, Plan, Refinement, Revision
from db.session import session_scope
from tests.support.processes import Background, prefect_env

DONE = {ItemStatus.PENDING_REVIEW, ItemStatus.QUARANTINED, ItemStatus.FAILED}
BEFORE_GENERATION = {ItemStatus.INGESTED, ItemStatus.PLANNED}
BEFORE_REVIEW = {ItemStatus.INGESTED, ItemStatus.PLANNED, ItemStatus.GENERATED, ItemStatus.REFINED}
REVIEWED = {ItemStatus.PENDING_REVIEW, ItemStatus.APPROVED, ItemStatus.REJECTED}


def echo_facts(body: dict[str, Any]) -> str:
    """Every `label: value` line of the prompt said back, so the checks pass."""
    prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
    facts = [line.split(":", 1)[1].strip() for line in prompt.splitlines() if ":" in line]
    return "This item: " + "; ".join(facts) + "."


class Gate:
    """The model server's responder: echoes facts, optionally sleeping per call, and holds
    the `at`-th call (counted from `arm`) until `release()` (at most 60 s)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self.at: int | None = None
        self.reached = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()

    def arm(self, at: int | None) -> None:
        with self._lock:
            self.calls, self.at = 0, at
            self.reached.clear()
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    def __call__(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.calls += 1
            held = self.calls == self.at
        if held:
            self.reached.set()
            self._release.wait(60)
        if self.delay_s:
            time.sleep(self.delay_s)
        return echo_facts(body)


def write_products(path: Path, count: int) -> dict[str, Any]:
    """A products CSV: `count` good rows, one exact duplicate (deduplicated, not an item),
    and two bad rows (quarantined). Returns what ingest should make of it."""
    header = ["name", "brand", "category", "price", "currency", "materials", "colours"]
    rows = [
        [f"Desk Lamp {n}", "Lumo", "Lighting", f"{20 + n}.00", "USD", "aluminium", "black|white"]
        for n in range(1, count + 1)
    ]
    rows.insert(3, list(rows[1]))  # the duplicate: line 5 repeats line 3
    rows.insert(6, ["Broken Chair", "Sitwell", "Seating", "abc", "USD", "oak", "brown"])
    rows.insert(9, ["", "NoName", "Misc", "10", "USD", "pine", "tan"])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    lines = set(range(2, len(rows) + 2)) - {5}  # file lines of the data rows, but the repeat
    bad = {line for line, row in enumerate(rows, start=2) if row[0] in ("Broken Chair", "")}
    return {"items": count + 2, "quarantined": bad, "rows": lines}


def copydesk_env(
    home: Path, prefect_api: str, model_url: str, faults: Path, **settings: str
) -> dict[str, str]:
    """The environment of a `copydesk` subprocess: this test's home, the Prefect server,
    the fake model server, the crash-point folder, and `settings` (COPYDESK_* names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPYDESK_", "PREFECT_"))}
    (home / "prefect").mkdir(parents=True, exist_ok=True)
    env |= prefect_env(prefect_api, home / "prefect")
    env |= {
        "PYTHONPATH": str(REPO_ROOT),
        "COPYDESK_HOME": str(home),
        "COPYDESK_TEXT_BACKEND": "openai",
        "COPYDESK_OPENAI_BASE_URL": model_url,
        "COPYDESK_OPENAI_MODEL": "echo",
        "FAULT_DIR": str(faults),
        **settings,
    }
    return env


def s3_store(env: dict[str, str]) -> S3Store:
    """The store that COPYDESK_* settings `env` name, its bucket created."""
    fields = {name.removeprefix("COPYDESK_").lower(): value for name, value in env.items()}
    store = S3Store.from_settings(Settings(**fields, s3_create_bucket=True))
    store.ensure_bucket()
    return store


@dataclass
class Copydesk:
    """`copydesk ARGS` (with crash points) in its own process group."""

    env: dict[str, str]
    cwd: Path
    faults: Path
    runs: int = 0
    process: Background | None = field(default=None, repr=False)

    def start(self, *args: str, points: str = "") -> Copydesk:
        self.runs += 1
        for old in self.faults.glob("*.go"):
            old.unlink()
        for old in self.faults.glob("*.reached"):
            old.unlink()
        argv = [sys.executable, "-m", "tests.faults.crashpoints", *args]
        env = {**self.env, "FAULT_POINTS": points}
        log = self.faults / f"run-{self.runs}.log"
        self.process = Background(argv, log, env, self.cwd).start()
        return self

    @property
    def proc(self) -> Any:
        assert self.process is not None and self.process.proc is not None
        return self.process.proc

    def wait_reached(self, point: str, timeout: float = 90) -> None:
        """Wait until the process stops at crash point `point` ("put-4")."""
        self.wait_for((self.faults / f"{point}.reached").exists, f"stop at {point}", timeout)

    def wait_for(self, condition: Any, what: str, timeout: float = 90) -> None:
        """Wait until `condition()` holds (the process still running)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"exited ({self.proc.returncode}) before {what}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no {what} in {timeout}s:\n{self.tail()}")
            time.sleep(0.05)

    def go(self, point: str) -> None:
        (self.faults / f"{point}.go").write_text("go")

    def kill(self) -> None:
        """kill -9 of the whole process group, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def finish(self, timeout: float = 120) -> int:
        try:
            return int(self.proc.wait(timeout=timeout))
        except Exception:
            self.kill()
            raise AssertionError(f"still running after {timeout}s:\n{self.tail()}") from None

    def succeed(self, timeout: float = 120) -> None:
        code = self.finish(timeout)
        assert code == 0, f"exit status {code}:\n{self.tail()}"

    def tail(self, lines: int = 80) -> str:
        return self.process.tail(lines) if self.process else ""

    def events(self, name: str) -> int:
        """How often `name` happened, over every run so far."""
        log = self.faults / "events.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return sum(1 for line in lines if line.split()[0] == name)


@dataclass
class BatchState:
    status: dict[int, str]  # item id -> status
    row: dict[int, int]  # item id -> its row (line) in the input file
    error: dict[int, str | None]
    orphans: set[str]  # objects under the batch that no revision points to
    batch_status: str

    def counts(self) -> Counter[str]:
        return Counter(self.status.values())

    def items(self, *statuses: str) -> set[int]:
        return {item for item, status in self.status.items() if status in statuses}


def batch_state(
    url: str, store: ObjectStore, batch_id: int, lost_edits: Collection[int] = ()
) -> BatchState:
    """The batch as the database and the store hold it, after checking every invariant
    that must hold at any moment, however the last run ended:

    - one item per distinct input record and row; one plan per planned item;
    - generations unique per (item, section, attempt), attempts numbered 1..n without
      gaps, none before an item is generated and every section's after;
    - one refinement per section once refined, none before; revisions only once in
      review: one `model` revision (and at most a `refiner` child) per item, then
      only editors' revisions;
    - every revision's objects exist with the recorded sha256 (read back and hashed);
    - an object under the batch that no revision points to is content-addressed (named
      by its own sha256) and belongs to an item not yet in review (the output stage
      stored it, then the process died before its revision was committed: the redo
      writes the same key and commits) or to one of `lost_edits` (items on which an
      editor's edit stored its documents, then lost the race to another decision).
    """
    with session_scope(url, readonly=True) as session:
        batch_status = session.get_one(Batch, batch_id).status
        items = session.scalars(select(Item).where(Item.batch_id == batch_id)).all()
        ids = [item.id for item in items]
        plans = session.scalars(select(Plan).where(Plan.item_id.in_(ids))).all()
        generations = session.execute(
            select(Generation.item_id, Generation.section, Generation.attempt).where(
                Generation.item_id.in_(ids)
            )
        ).all()
        refinements = session.execute(
            select(Refinement.item_id, Refinement.section).where(Refinement.item_id.in_(ids))
        ).all()
        revisions = session.scalars(
            select(Revision).where(Revision.item_id.in_(ids)).order_by(Revision.id)
        ).all()
        status = {item.id: item.status for item in items}
        error = {item.id: item.error for item in items}
        rows = [item.row_number for item in items]
        hashes = [item.input_sha256 for item in items]
        sections = {
            p.item_id: [s.name for s in Outline.from_dict(p.outline).sections] for p in plans
        }
        plan_counts = Counter(p.item_id for p in plans)
        outputs = [(r.item_id, r.author_kind, r.parent_id, dict(r.outputs)) for r in revisions]

    assert len(set(rows)) == len(rows) and len(set(hashes)) == len(hashes), "duplicate items"
    assert all(n == 1 for n in plan_counts.values()), f"several plans for an item: {plan_counts}"
    attempts: dict[tuple[int, str], list[int]] = defaultdict(list)
    for item_id, section, attempt in generations:
        attempts[item_id, section].append(attempt)
    for key, numbers in attempts.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"attempts of {key}: {numbers}"
    refined = Counter(refinements)
    assert all(n == 1 for n in refined.values()), f"duplicate refinements: {refined}"
    by_item: dict[int, list[tuple[str, int | None, dict[str, Any]]]] = defaultdict(list)
    for item_id, kind, parent, docs in outputs:
        by_item[item_id].append((kind, parent, docs))
    for item_id, state in status.items():
        names = sections.get(item_id, [])
        generated = {s for (i, s) in attempts if i == item_id}
        refined_sections = {s for (i, s) in refined if i == item_id}
        if state == ItemStatus.QUARANTINED:
            assert item_id not in plan_counts and not generated, (
                f"quarantined item {item_id} worked on"
            )
        if state in BEFORE_GENERATION:
            assert not generated, f"item {item_id} is {state} but has generations"
        if state in {ItemStatus.GENERATED, ItemStatus.REFINED} | REVIEWED:
            assert generated == set(names), f"item {item_id} ({state}): {generated} != {names}"
        if state in {ItemStatus.REFINED} | REVIEWED:
            assert refined_sections == set(names), f"item {item_id}: refinements {refined_sections}"
        elif state != ItemStatus.FAILED:
            assert not refined_sections, f"item {item_id} is {state} but has refinements"
        kinds = [kind for kind, _, _ in by_item.get(item_id, [])]
        if state in REVIEWED:  # the pipeline's one or two, then editors' edits
            pipeline = [kind for kind in kinds if kind != "editor"]
            assert pipeline in (["model"], ["model", "refiner"]), f"item {item_id}: {kinds}"
            assert kinds[: len(pipeline)] == pipeline, f"item {item_id}: revisions {kinds}"
        else:
            assert not kinds, f"item {item_id} is {state} but has revisions {kinds}"

    referenced: set[str] = set()
    for _, _, _, docs in outputs:
        for doc in docs.values():
            data = store.get(doc["key"])
            assert sha256_bytes(data) == doc["sha256"], f"{doc['key']}: content != its row's sha256"
            stored = store.stat(doc["key"])
            assert stored is not None and stored.sha256 == doc["sha256"], doc["key"]
            referenced.add(doc["key"])
    listed = {obj.key for obj in store.list(f"batches/{batch_id}/")}
    assert referenced <= listed
    orphans = listed - referenced
    for key in orphans:
        item_id, name = int(key.split("/")[3]), key.rsplit("/", 1)[1]
        allowed = status.get(item_id) in BEFORE_REVIEW or item_id in lost_edits
        assert allowed, f"orphan {key} of a {status.get(item_id)} item"
        digest = sha256_bytes(store.get(key))
        assert digest.removeprefix("sha256:")[:16] == name.split(".")[0], (
            f"{key} is not content-addressed"
        )
        stored = store.stat(key)
        assert stored is not None and stored.sha256 == digest, key
    return BatchState(status, dict(zip(status, rows, strict=True)), error, orphans, batch_status)


def assert_complete(state: BatchState, expected: dict[str, Any]) -> None:
    """Every input row ended exactly once as pending_review / quarantined / failed, the
    store holds exactly what the rows point to, and the batch is completed."""
    assert len(state.status) == expected["items"], state.counts()
    assert set(state.row.values()) == expected["rows"]
    assert set(state.status.values()) <= DONE, state.counts()
    quarantined = {state.row[item] for item in state.items(ItemStatus.QUARANTINED)}
    assert quarantined == expected["quarantined"]
    assert not state.orphans, f"objects no row points to: {sorted(state.orphans)}"
    assert state.batch_status == "completed"
