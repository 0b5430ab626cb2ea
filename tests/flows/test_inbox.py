"""The process-inbox flow under Prefect's test harness: each new file once, then nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.inputs.inbox import claim_file, list_inbox
from copydesk.inputs.schedules import load_config
from copydesk.settings import get_settings
from copydesk.storage import LocalStore, ObjectStore
from db.models import Batch, InboxFile, InboxFileStatus, Item, ItemStatus
from db.session import session_scope
from flows.inbox import process_inbox
from tests.support.fake_generator import FakeGenerator

HEADER = "name,brand,price,currency\n"
LAMP = f"{HEADER}Desk Lamp,Lumo,45.00,USD\nShelf,Oakline,60,EUR\n"
CHAIR = f"{HEADER}Chair,Sitwell,30,USD\n"


def write_config(folder: Path, input_: str, name: str = "products") -> None:
    (folder / "copydesk.toml").write_text(
        f'[[schedules]]\nname = "{name}"\ncontent_type = "product_description"\n'
        f'input = "{input_}"\ncron = "* * * * *"\nmax_attempts = 1\nchunk_size = 2\n'
    )


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_config(tmp_path, "inbox/*.csv")
    return folder


def rows(url: str) -> list[InboxFile]:
    with session_scope(url, readonly=True) as session:
        return list(session.scalars(select(InboxFile).order_by(InboxFile.id)))


def items_by_batch(url: str) -> dict[int, list[str]]:
    with session_scope(url, readonly=True) as session:
        found: dict[int, list[str]] = {}
        for item in session.scalars(select(Item).order_by(Item.id)):
            found.setdefault(item.batch_id, []).append(item.status)
        return found


def test_two_files_become_two_batches_once(database: str, fake: FakeGenerator, inbox: Path) -> None:
    (inbox / "lamps.csv").write_text(LAMP)
    (inbox / "chairs.csv").write_text(CHAIR)
    (inbox / "notes.txt").write_text("not an input file")

    first = process_inbox("products")

    assert first == {"files": 2, "new": 2, "batches": 2, "failed": 0, "elsewhere": 0, "held": 0}
    done = rows(database)
    assert [(Path(r.source).name, r.status) for r in done] == [
        ("chairs.csv", InboxFileStatus.DONE),
        ("lamps.csv", InboxFileStatus.DONE),
    ]
    with session_scope(database, readonly=True) as session:
        batches = {b.id: b for b in session.scalars(select(Batch))}
    assert sorted(batches) == sorted(r.batch_id for r in done)
    for row in done:
        batch = batches[row.batch_id]  # type: ignore[index]
        assert (batch.source, batch.source_sha256, batch.status) == (
            row.source,
            row.sha256,
            "completed",
        )
        assert batch.name == f"products: {Path(row.source).name}"
        assert batch.options["schedule"] == "products" and batch.options["max_attempts"] == 1
    assert sorted(map(len, items_by_batch(database).values())) == [1, 2]
    assert {s for v in items_by_batch(database).values() for s in v} == {ItemStatus.PENDING_REVIEW}

    again = process_inbox("products")

    assert again == {"files": 2, "new": 0, "batches": 0, "failed": 0, "elsewhere": 0, "held": 0}
    assert len(rows(database)) == 2

    (inbox / "chairs.csv").write_text(CHAIR + "Stool,Sitwell,25,USD\n")  # changed: new
    changed = process_inbox("products")

    assert changed == {"files": 2, "new": 1, "batches": 1, "failed": 0, "elsewhere": 0, "held": 0}
    assert len(rows(database)) == 3 and len(items_by_batch(database)) == 3


def test_a_crashed_claim_is_resumed_and_a_live_one_left_alone(
    database: str, fake: FakeGenerator, inbox: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed, Running

    (inbox / "lamps.csv").write_text(LAMP)
    schedule = load_config().schedule("products")
    (found,) = list_inbox(schedule)
    with get_client(sync_client=True) as client:
        other = client.create_flow_run(process_inbox, parameters={"schedule": "products"})
        client.set_flow_run_state(other.id, Running(), force=True)
    claim = claim_file(database, schedule, found, claimer=str(other.id))
    assert claim is not None and not claim.resumed

    state = process_inbox("products", return_state=True)  # the run holding it is running
    held = state.result()

    assert held == {"files": 1, "new": 1, "batches": 0, "failed": 0, "elsewhere": 1, "held": 1}
    assert state.is_completed() and state.message is not None
    assert state.message.endswith(
        f"; 1 still in progress in another run, not done yet: lamps.csv (flow run {other.id})"
    )
    assert items_by_batch(database) == {}

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(other.id, Crashed(), force=True)
    resumed = process_inbox("products")

    assert resumed == {"files": 1, "new": 1, "batches": 1, "failed": 0, "elsewhere": 0, "held": 0}
    (row,) = rows(database)
    assert (row.status, row.batch_id, row.attempts) == ("done", claim.batch_id, 2)
    assert row.claimed_by != str(other.id)
    assert items_by_batch(database) == {claim.batch_id: [ItemStatus.PENDING_REVIEW] * 2}


def test_a_claim_by_a_run_prefect_does_not_know_is_taken_over(
    database: str, fake: FakeGenerator, inbox: Path
) -> None:
    (inbox / "chairs.csv").write_text(CHAIR)
    schedule = load_config().schedule("products")
    (found,) = list_inbox(schedule)
    claim = claim_file(database, schedule, found, claimer=str(uuid.uuid4()))
    assert claim is not None

    assert process_inbox("products")["batches"] == 1
    assert items_by_batch(database) == {claim.batch_id: [ItemStatus.PENDING_REVIEW]}


def test_a_failed_batch_is_retried_by_the_next_run(
    database: str, fake: FakeGenerator, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.generate_batch
    import tasks.ingest

    (inbox / "lamps.csv").write_text(LAMP)
    real = tasks.ingest.ingest_batch

    def broken(*args: object, **kwargs: object) -> object:
        raise OSError("disk went away")

    monkeypatch.setattr(tasks.ingest, "ingest_batch", broken)
    no_retries = tasks.ingest.ingest_task.with_options(retries=0)
    monkeypatch.setattr(flows.generate_batch, "ingest_task", no_retries)
    failed = process_inbox("products")

    assert failed == {"files": 1, "new": 1, "batches": 1, "failed": 1, "elsewhere": 0, "held": 0}
    (row,) = rows(database)
    assert row.status == InboxFileStatus.FAILED and "disk went away" in (row.error or "")

    monkeypatch.setattr(tasks.ingest, "ingest_batch", real)
    retried = process_inbox("products")

    assert retried == {"files": 1, "new": 1, "batches": 1, "failed": 0, "elsewhere": 0, "held": 0}
    (row,) = rows(database)
    assert (row.status, row.attempts) == (InboxFileStatus.DONE, 2)
    assert list(items_by_batch(database)) == [row.batch_id]


def test_an_object_store_inbox(
    database: str, fake: FakeGenerator, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(store, LocalStore):
        monkeypatch.setenv("COPYDESK_STORE_PATH", str(store.root))
        get_settings.cache_clear()
    store.put("inbox/products/lamps.csv", LAMP.encode(), "text/csv")
    store.put("inbox/products/chairs.csv", CHAIR.encode(), "text/csv")
    write_config(Path.cwd(), "store:inbox/products/", name="shop")

    assert process_inbox("shop") == {
        "files": 2,
        "new": 2,
        "batches": 2,
        "failed": 0,
        "elsewhere": 0,
        "held": 0,
    }
    assert process_inbox("shop") == {
        "files": 2,
        "new": 0,
        "batches": 0,
        "failed": 0,
        "elsewhere": 0,
        "held": 0,
    }
    assert sorted(r.source for r in rows(database)) == [
        "store:inbox/products/chairs.csv",
        "store:inbox/products/lamps.csv",
    ]
