"""The generate-batch flow with the real bundled model (SmolLM2-135M-Instruct) on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.lineage import describe_item
from db.models import Generation, Item, Revision
from db.session import session_scope
from flows.generate_batch import generate_batch
from tests.flows.conftest import SAMPLES

pytestmark = pytest.mark.slow


def test_two_restaurants_with_the_real_model(
    database: str, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPYDESK_MODEL_CACHE", str(model_cache))
    source = SAMPLES / "restaurant" / "samples" / "restaurants.csv"

    summary = generate_batch(
        source=str(source), content_type="restaurant", limit=2, generation={"max_attempts": 2}
    )

    assert summary["counts"] == {"pending_review": 2}
    with session_scope(database) as session:
        generations = session.scalars(select(Generation)).all()
        assert {g.model_id for g in generations} == {"HuggingFaceTB/SmolLM2-135M-Instruct"}
        assert all(g.model_revision and g.model_revision.startswith("sha256:") for g in generations)
        assert all(g.output and g.tokens_out and g.prefect_task_run_id for g in generations)
        revisions = session.scalars(select(Revision)).all()
        assert len(revisions) == 2 and all(r.object_key for r in revisions)
        item_id = session.scalars(select(Item.id).order_by(Item.id)).first()
    assert item_id is not None
    chain = describe_item(database, item_id)
    for link in ("input:", "plan ", "generation ", "revision ", "@ sha256:", "seed ", "batches/"):
        assert link in chain
