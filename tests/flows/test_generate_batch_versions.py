"""generate-batch with model versions: a new batch takes the promoted version (or the one
asked for), records it, and its tasks (and a resume) ask for that version's generator."""

from __future__ import annotations

import pytest

from db import model_versions as versions_repo
from db.models import Batch
from db.session import session_scope
from flows.generate_batch import generate_batch
from tests.db.test_model_versions import values
from tests.flows.conftest import SAMPLES
from tests.support.fake_generator import FakeGenerator

RESTAURANTS = SAMPLES / "restaurant" / "samples" / "restaurants.csv"


def test_batches_write_with_the_promoted_or_the_asked_version(
    database: str, fake: FakeGenerator
) -> None:
    with session_scope(database) as session:
        v1 = versions_repo.add_model_version(session=session, **values("restaurant-v1")).id
        v2 = versions_repo.add_model_version(session=session, **values("restaurant-v2")).id
        versions_repo.add_promotion(
            session=session, content_type="restaurant", model_version_id=v1, promoted_by="t"
        )
    asked: list[int | None] = fake.versions_asked  # type: ignore[attr-defined]

    promoted = generate_batch(source=str(RESTAURANTS), content_type="restaurant", limit=2)
    assert promoted["model_version"] == "restaurant-v1" and set(asked) == {v1}

    asked.clear()
    chosen = generate_batch(
        source=str(RESTAURANTS),
        content_type="restaurant",
        limit=2,
        generation={"model_version": "restaurant-v2", "max_attempts": 1},
    )
    assert chosen["model_version"] == "restaurant-v2" and set(asked) == {v2}

    asked.clear()
    base = generate_batch(
        source=str(RESTAURANTS),
        content_type="restaurant",
        limit=2,
        generation={"model_version": "base"},
    )
    assert base["model_version"] is None and set(asked) == {None}

    with session_scope(database) as session:  # a resume keeps the batch's version
        batch = session.get_one(Batch, chosen["batch_id"])
        assert batch.options["model_version_id"] == v2
    asked.clear()
    generate_batch(batch_id=chosen["batch_id"], generation={"max_attempts": 1})
    assert set(asked) <= {v2}


def test_an_unknown_version_fails_before_a_batch_starts(database: str, fake: FakeGenerator) -> None:
    from copydesk.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no model version 'nope'"):
        generate_batch(
            source=str(RESTAURANTS), content_type="restaurant", generation={"model_version": "nope"}
        )
    with session_scope(database) as session:
        assert session.query(Batch).count() == 0
