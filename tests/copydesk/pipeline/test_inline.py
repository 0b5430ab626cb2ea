"""The in-process stage loop: from a later stage it resumes, and a failing stage stops it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.content.types import load_content_type
from copydesk.pipeline.batch import start_batch
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.inline import run_stages
from copydesk.pipeline.plan import plan_chunk
from copydesk.storage import LocalStore
from db import migrate
from db.models import Item, ItemStatus
from db.session import session_scope
from tests.support.desk import RESTAURANTS
from tests.support.fake_generator import FakeGenerator


def _batch(url: str) -> list[int]:
    migrate.upgrade(url)
    batch_id = start_batch(url, content_type="restaurant", source=RESTAURANTS, options={})
    ingest_batch(url, batch_id)
    with session_scope(url, readonly=True) as session:
        return list(session.scalars(select(Item.id).order_by(Item.id)))


def _statuses(url: str) -> set[str]:
    with session_scope(url, readonly=True) as session:
        return set(session.scalars(select(Item.status)))


def test_from_a_later_stage_it_picks_up_where_the_chunk_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    ids = _batch(url)
    kind = load_content_type("restaurant")
    plan_chunk(url, ids, kind)  # the chunk stopped after plan
    generator = FakeGenerator()

    counts = run_stages(url, ids, kind, generator, LocalStore(tmp_path / "s"), start="generate")

    assert counts.done == len(ids)
    assert _statuses(url) == {ItemStatus.PENDING_REVIEW}
    assert generator.calls >= 1


def test_a_failing_stage_stops_the_chunk(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    ids = _batch(url)
    kind = load_content_type("restaurant")
    down = FakeGenerator(fail_when=lambda request: True)

    with pytest.raises(ConnectionError):
        run_stages(url, ids, kind, down, LocalStore(tmp_path / "s"))

    assert _statuses(url) == {ItemStatus.PLANNED}  # planned, nothing generated or later


def test_an_unknown_stage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown stage 'polish'"):
        run_stages("sqlite://", [], load_content_type("restaurant"), FakeGenerator(),
                   LocalStore(tmp_path), start="polish")  # fmt: skip
