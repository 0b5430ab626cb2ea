"""A batch whose input is a prefix of the object store: `copydesk run store:inbox/x/`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from copydesk.cli import app
from copydesk.settings import get_settings
from copydesk.storage import LocalStore, ObjectStore
from db.models import Batch, Item, ItemStatus
from db.session import session_scope
from flows.generate_batch import generate_batch
from tests.copydesk.inputs.test_sources import put_inbox
from tests.support.fake_generator import FakeGenerator


@pytest.fixture
def configured_store(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
    """The `store` fixture, made the one Copydesk's settings name."""
    if isinstance(store, LocalStore):
        monkeypatch.setenv("COPYDESK_STORE_PATH", str(store.root))
        get_settings.cache_clear()
    return store


def test_run_on_a_store_prefix_names_quarantined_rows_by_key(
    database: str,
    fake: FakeGenerator,
    configured_store: ObjectStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put_inbox(configured_store)
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")  # `run` sets it; restore it after

    result = CliRunner().invoke(
        app, ["run", "store:inbox/x/", "--type", "product_description", "--json"]
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["counts"] == {"pending_review": 4, "quarantined": 1}
    with session_scope(database) as session:
        assert session.get_one(Batch, summary["batch_id"]).source == "store:inbox/x/"
        items = session.scalars(select(Item).order_by(Item.source, Item.row_number)).all()
        assert [(i.source, i.row_number) for i in items] == [
            ("store:inbox/x/a.csv", 2),
            ("store:inbox/x/a.csv", 3),
            ("store:inbox/x/b.csv", 2),
            ("store:inbox/x/b.csv", 3),
            ("store:inbox/x/c.jsonl", 1),
        ]
        (bad,) = [i for i in items if i.status == ItemStatus.QUARANTINED]
        assert (bad.source, bad.row_number, bad.error_field) == ("store:inbox/x/b.csv", 2, "price")
        assert bad.error is not None and bad.error.startswith("store:inbox/x/b.csv:2: price:")


@pytest.mark.integration
@pytest.mark.parametrize("store", ["s3"], indirect=True)
def test_flow_reads_an_s3_address_of_the_configured_bucket(
    database: str, fake: FakeGenerator, configured_store: ObjectStore
) -> None:
    put_inbox(configured_store)
    bucket = get_settings().s3_bucket

    summary = generate_batch(
        source=f"s3://{bucket}/inbox/x/c.jsonl", content_type="product_description"
    )

    assert summary["counts"] == {"pending_review": 1}
    with session_scope(database) as session:
        assert session.get_one(Batch, summary["batch_id"]).source == "store:inbox/x/c.jsonl"
