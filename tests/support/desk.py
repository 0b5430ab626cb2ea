"""Items waiting in the review queue, made in-process (no Prefect), for editors' desk tests.

`reviewable_batch` runs ingest → plan → generate → refine → output with a fake generator
over a sample file (restaurants by default: the fake's text fails the checks, so every
section ends on its fallback and the items have no failing checks). `flagged_batch` makes
article items whose text keeps failing (no fallback exists): they reach review with errors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from copydesk.content.types import load_content_type
from copydesk.desk.editors import EditorInfo, add_editor
from copydesk.generation.base import GenerationRequest
from copydesk.pipeline.batch import start_batch
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.inline import run_stages
from copydesk.pipeline.types import GenerationOptions, RunIds
from copydesk.storage import ObjectStore
from db import migrate
from db.models import ItemStatus, Role
from db.repository import item_ids
from db.session import session_scope
from tests.support.fake_generator import FakeGenerator, echo_facts

ROOT = Path(__file__).resolve().parents[2]
RESTAURANTS = ROOT / "templates" / "restaurant" / "samples" / "restaurants.csv"
ARTICLES = ROOT / "templates" / "article" / "samples" / "briefs.jsonl"
PRODUCTS = ROOT / "templates" / "product_description" / "samples" / "products.csv"


def reviewable_batch(
    url: str,
    store: ObjectStore,
    *,
    source: Path = RESTAURANTS,
    content_type: str = "restaurant",
    responder: Callable[[GenerationRequest], str] = echo_facts,
    max_attempts: int = 1,
    generator: FakeGenerator | None = None,
    check_threads: int = 1,
) -> tuple[int, list[int]]:
    """A completed batch whose items wait for review; returns (batch id, item ids)."""
    migrate.upgrade(url)
    kind = load_content_type(content_type)
    generator = generator or FakeGenerator(responder=responder)
    # one text per attempt whatever the manifest asks: these tests count model calls
    options = GenerationOptions(max_attempts=max_attempts, candidates=1)
    batch_id = start_batch(url, content_type=content_type, source=source, options={})
    ingest_batch(url, batch_id)
    with session_scope(url, readonly=True) as session:
        ids = item_ids(session=session, batch_id=batch_id, statuses=(ItemStatus.INGESTED,))
    run = RunIds("flow-desk", "task-desk")
    run_stages(url, ids, kind, generator, store, options, run, check_threads=check_threads)
    with session_scope(url, readonly=True) as session:
        pending = item_ids(
            session=session, batch_id=batch_id, statuses=(ItemStatus.PENDING_REVIEW,)
        )
    return batch_id, pending


def flagged_batch(url: str, store: ObjectStore) -> tuple[int, list[int]]:
    """Article items that reach review flagged: their text misses required facts."""
    return reviewable_batch(
        url,
        store,
        source=ARTICLES,
        content_type="article",
        responder=lambda request: "A short text that says nothing in particular.",
    )


def editor(url: str, name: str = "alice", role: Role = Role.EDITOR) -> tuple[EditorInfo, str]:
    """A new editor and their one-time secret."""
    migrate.upgrade(url)
    return add_editor(url, name, role)
