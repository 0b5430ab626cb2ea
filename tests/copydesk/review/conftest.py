"""A review desk to test the web app against: a database with items waiting for review
(clean restaurant items, flagged article items, one item whose record holds HTML), an
editor and a viewer, and the app on them with a fake text generator."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from copydesk.desk.item_view import item_detail
from copydesk.review.app import create_app
from copydesk.settings import Settings
from copydesk.storage import LocalStore, ObjectStore
from db.models import Item, Review, Revision, Role
from tests.support.desk import editor, flagged_batch, reviewable_batch
from tests.support.fake_generator import FakeGenerator

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HOSTILE_RECORD = {
    "title": "<script>alert(1)</script> Herb tips",
    "audience": "<img src=x onerror=alert(1)>",
    "outline": ["Choosing a spot"],
    "key_points": ["use pots with drainage holes"],
}


@dataclass
class ReviewDesk:
    url: str
    store: ObjectStore
    app: FastAPI
    generator: FakeGenerator
    batch_id: int  # clean restaurant items
    clean_ids: list[int]
    flagged_batch_id: int  # article items with failing checks
    flagged_ids: list[int]
    hostile_id: int  # an article whose record holds HTML
    secrets: dict[str, str] = field(default_factory=dict)  # editor name -> secret

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self, name: str) -> TestClient:
        client = self.client()
        sign_in(client, name, self.secrets[name])
        return client


def settings_for_tests(**values: Any) -> Settings:
    return Settings(env="test", review_secret="s" * 40, **values)


def make_desk(url: str, tmp_path: Path, generator: FakeGenerator | None = None) -> ReviewDesk:
    store = LocalStore(tmp_path / "objects")
    batch_id, clean_ids = reviewable_batch(url, store)
    flagged_id, flagged_ids = flagged_batch(url, store)
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps(HOSTILE_RECORD) + "\n", encoding="utf-8")
    _, hostile_ids = reviewable_batch(url, store, source=source, content_type="article")
    generator = generator or FakeGenerator()
    app = create_app(
        url,
        store,
        generator_factory=lambda version: generator,
        settings=settings_for_tests(prefect_ui_url="http://prefect.test:4200"),
    )
    desk = ReviewDesk(
        url, store, app, generator, batch_id, clean_ids, flagged_id, flagged_ids, hostile_ids[0]
    )
    for name, role in (("alice", Role.EDITOR), ("bob", Role.EDITOR), ("vera", Role.VIEWER)):
        desk.secrets[name] = editor(url, name, role)[1]
    return desk


@pytest.fixture(autouse=True)
def cheap_secret_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, with the cheapest parameters: these tests sign in many times."""
    import copydesk.desk.editors

    monkeypatch.setattr(
        copydesk.desk.editors,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[ReviewDesk]:
    made = make_desk(database_url, tmp_path)
    yield made
    made.app.state.desk.regenerator.shutdown()


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, name: str, secret: str) -> str:
    """Sign in through the form; return the signed-in session's CSRF token."""
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"name": name, "secret": secret, "csrf_token": csrf_of(form.text)}
    )
    assert response.status_code == 303, response.text
    page = client.get("/queue")
    assert page.status_code == 200
    return csrf_of(page.text)


def version_of(url: str, item_id: int) -> int:
    return item_detail(url, item_id).version


def snapshot(url: str) -> dict[str, Any]:
    """What a refused request must leave unchanged: every item's state, reviews, revisions."""
    from db.session import session_scope

    with session_scope(url, readonly=True) as session:
        items = session.execute(
            select(Item.id, Item.status, Item.version, Item.check_errors).order_by(Item.id)
        ).all()
        return {
            "items": [tuple(row) for row in items],
            "reviews": session.scalar(select(func.count()).select_from(Review)),
            "revisions": session.scalar(select(func.count()).select_from(Revision)),
        }


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def passing_sections(url: str, item_id: int) -> dict[str, str]:
    """Section texts that carry every fact of the item's plan (so the checks pass)."""

    def say(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return {
        section.name: " ".join(
            f"The {name} is {say(value)}." for name, value in section.facts.items()
        )
        for section in item_detail(url, item_id).sections
    }
