"""A schedule's inbox: listing (local folder, glob, object store) and claiming files."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.hashing import sha256_bytes
from copydesk.inputs.inbox import (
    MAX_FILE_ATTEMPTS,
    FoundFile,
    claim_file,
    current_claimer,
    finish_file,
    list_inbox,
    pending_files,
)
from copydesk.inputs.schedules import BatchOptions, Schedule
from copydesk.storage import LocalStore, ObjectStore
from db import migrate
from db.models import Batch, InboxFile
from db.session import session_scope

CSV = b"name,brand,price,currency\nLamp,Lumo,45,USD\n"


def schedule(input_: str, base: Path, name: str = "shop") -> Schedule:
    options = BatchOptions(limit=10, max_attempts=2)
    return Schedule(name, "product_description", input_, "* * * * *", "UTC", options, base)


@pytest.fixture
def db(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture
def lamp(tmp_path: Path) -> FoundFile:
    return FoundFile(str(tmp_path / "inbox" / "lamp.csv"), len(CSV), sha256_bytes(CSV))


# --- listing -------------------------------------------------------------------------


def test_a_local_folder_lists_its_input_files(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    for name in ("b.csv", "a.jsonl", "notes.txt", ".c.csv.part", "sub/d.csv"):
        (inbox / name).write_bytes(CSV)

    found = list_inbox(schedule("inbox", tmp_path))

    assert [Path(f.source).name for f in found] == ["a.jsonl", "b.csv"]
    assert found[0] == FoundFile(str(inbox / "a.jsonl"), len(CSV), sha256_bytes(CSV))
    globbed = list_inbox(schedule("inbox/**/*.csv", tmp_path))
    assert [Path(f.source).relative_to(inbox).as_posix() for f in globbed] == [
        "b.csv",
        "sub/d.csv",
    ]
    assert list_inbox(schedule(str(inbox / "*.jsonl"), Path("/elsewhere")))[0].source.endswith(
        "a.jsonl"
    )


def test_a_store_prefix_lists_and_hashes_its_objects(store: ObjectStore) -> None:
    store.put("inbox/shop/a.csv", CSV, "text/csv")
    store.put("inbox/shop/notes.txt", b"no", "text/plain")
    store.put("inbox/shopping/x.csv", CSV, "text/csv")
    other = b"name,brand,price,currency\nMug,Clay,9,USD\n"
    _drop_by_hand(store, "inbox/shop/b.csv", other)  # no digest: hashed by download

    found = list_inbox(schedule("store:inbox/shop/", Path(".")), store)

    assert found == [
        FoundFile("store:inbox/shop/a.csv", len(CSV), sha256_bytes(CSV)),
        FoundFile("store:inbox/shop/b.csv", len(other), sha256_bytes(other)),
    ]
    single = list_inbox(schedule("store:inbox/shop/b.csv", Path(".")), store)
    assert [f.source for f in single] == ["store:inbox/shop/b.csv"]
    assert list_inbox(schedule("store:inbox/empty/", Path(".")), store) == []


def _drop_by_hand(store: ObjectStore, key: str, data: bytes) -> None:
    """An object another tool put (`mc cp`, a copied file): it carries no sha256."""
    if isinstance(store, LocalStore):
        path = store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))  # type: ignore[attr-defined]


# --- claiming ------------------------------------------------------------------------


def test_a_claim_makes_the_batch_and_holds_the_file(
    db: str, tmp_path: Path, lamp: FoundFile
) -> None:
    shop = schedule("inbox", tmp_path)

    claim = claim_file(db, shop, lamp, claimer="run-a")

    assert claim is not None and (claim.attempt, claim.resumed) == (1, False)
    with session_scope(db, readonly=True) as session:
        batch = session.get_one(Batch, claim.batch_id)
        assert (batch.source, batch.source_sha256, batch.content_type) == (
            lamp.source,
            lamp.sha256,
            "product_description",
        )
        assert batch.options == {
            "limit": 10,
            "chunk_size": None,
            "images": False,
            "max_attempts": 2,
            "schedule": "shop",
        }
    assert claim_file(db, shop, lamp, claimer="run-b") is None  # held by run-a
    assert current_claimer(db, "shop", lamp) == "run-a"
    again = claim_file(db, shop, lamp, claimer="run-a")  # a retry of the same run
    assert again is not None and (again.batch_id, again.attempt, again.resumed) == (
        claim.batch_id,
        1,
        True,
    )
    assert pending_files(db, "shop", [lamp]) == [lamp]  # claimed: may have crashed

    assert finish_file(db, claim.inbox_file_id, "run-a")

    assert pending_files(db, "shop", [lamp]) == []
    assert current_claimer(db, "shop", lamp) is None
    assert claim_file(db, shop, lamp, claimer="run-c", stale_claimer="run-a") is None
    changed = FoundFile(lamp.source, lamp.size + 1, sha256_bytes(CSV + b"Mug,Clay,9,USD\n"))
    assert pending_files(db, "shop", [lamp, changed]) == [changed]
    assert pending_files(db, "other-schedule", [lamp]) == [lamp]


def test_a_stale_claim_is_taken_over_once(db: str, tmp_path: Path, lamp: FoundFile) -> None:
    shop = schedule("inbox", tmp_path)
    crashed = claim_file(db, shop, lamp, claimer="run-a")
    assert crashed is not None

    taken = claim_file(db, shop, lamp, claimer="run-b", stale_claimer="run-a")
    assert claim_file(db, shop, lamp, claimer="run-c", stale_claimer="run-a") is None

    assert taken is not None and (taken.batch_id, taken.attempt, taken.resumed) == (
        crashed.batch_id,
        2,
        True,
    )
    assert not finish_file(db, crashed.inbox_file_id, "run-a")  # it lost the claim
    assert finish_file(db, taken.inbox_file_id, "run-b")


def test_a_failed_file_is_retried_up_to_the_limit(db: str, tmp_path: Path, lamp: FoundFile) -> None:
    shop = schedule("inbox", tmp_path)
    batch_ids = set()
    for attempt in range(1, MAX_FILE_ATTEMPTS + 1):
        assert pending_files(db, "shop", [lamp]) == [lamp]
        claim = claim_file(db, shop, lamp, claimer=f"run-{attempt}")
        assert claim is not None and claim.attempt == attempt
        batch_ids.add(claim.batch_id)
        assert finish_file(db, claim.inbox_file_id, f"run-{attempt}", error="ingest failed")

    assert len(batch_ids) == 1  # every retry resumes the same batch
    assert pending_files(db, "shop", [lamp]) == []
    assert claim_file(db, shop, lamp, claimer="run-x") is None
    with session_scope(db, readonly=True) as session:
        (row,) = session.scalars(select(InboxFile)).all()
    assert (row.status, row.error, row.attempts) == ("failed", "ingest failed", MAX_FILE_ATTEMPTS)


def test_concurrent_runs_never_both_take_a_file(db: str, tmp_path: Path) -> None:
    shop = schedule("inbox", tmp_path)
    files = [FoundFile(f"/inbox/{n}.csv", 1, sha256_bytes(str(n).encode())) for n in range(4)]
    won: dict[str, list[str]] = {"run-a": [], "run-b": []}
    start = threading.Barrier(2)

    def run(claimer: str) -> None:
        start.wait(timeout=10)
        for file in files:
            if claim_file(db, shop, file, claimer=claimer) is not None:
                won[claimer].append(file.source)

    threads = [threading.Thread(target=run, args=(name,)) for name in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(won["run-a"] + won["run-b"]) == sorted(f.source for f in files)
    with session_scope(db, readonly=True) as session:
        assert len(session.scalars(select(InboxFile)).all()) == 4
        assert len(session.scalars(select(Batch)).all()) == 4
