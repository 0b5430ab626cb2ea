"""Model versions and promotions in the database: names users type, the version a
content type uses (explicit > promoted > base), unknown names."""

from __future__ import annotations

from typing import Any

import pytest

from copydesk.errors import ConfigurationError
from db import migrate
from db import model_versions as repo
from db.session import session_scope


def values(name: str, content_type: str | None = "restaurant") -> dict[str, Any]:
    return {
        "name": name,
        "content_type": content_type,
        "base_model_id": "tiny",
        "base_model_revision": "sha256:base",
        "method": "lora",
        "artifact_key": f"models/{name}/abc/",
        "artifact_sha256": "sha256:abc",
        "artifact_bytes": 10,
        "artifact_files": {"adapter_model.safetensors": "sha256:f"},
        "data_digest": "sha256:d",
        "data": {"examples": 3},
        "hyperparameters": {"lora_r": 16},
        "library_versions": {"peft": "0"},
        "duration_s": 1.0,
    }


def test_names_resolution_and_promotions(database_url: str) -> None:
    migrate.upgrade(database_url)
    with session_scope(database_url) as session:
        assert repo.next_version_name(session=session, prefix="restaurant") == "restaurant-v1"
        first = repo.add_model_version(session=session, **values("restaurant-v1"))
        second = repo.add_model_version(session=session, **values("restaurant-v2"))
        repo.add_model_version(session=session, **values("product-v1", "product_description"))
        assert repo.next_version_name(session=session, prefix="restaurant") == "restaurant-v3"
        for bad in ("restaurant-v1", "base", "12", "../x", ""):
            with pytest.raises(ConfigurationError):
                repo.add_model_version(session=session, **values(bad))
        ids = first.id, second.id

    with session_scope(database_url) as session:
        resolve = repo.resolve_model_version
        assert resolve(session=session, content_type="restaurant", requested=None) is None
        repo.add_promotion(
            session=session, content_type="restaurant", model_version_id=ids[0], promoted_by="a"
        )
        repo.add_promotion(
            session=session, content_type="restaurant", model_version_id=ids[1], promoted_by="b"
        )
        promoted = resolve(session=session, content_type="restaurant", requested=None)
        assert promoted is not None and promoted.name == "restaurant-v2"  # the latest wins
        chosen = resolve(session=session, content_type="restaurant", requested="restaurant-v1")
        assert chosen is not None and chosen.id == ids[0]
        by_id = resolve(session=session, content_type="restaurant", requested=str(ids[0]))
        assert by_id is not None and by_id.name == "restaurant-v1"
        assert resolve(session=session, content_type="restaurant", requested="base") is None
        assert repo.current_promotions(session=session) == {"restaurant": ids[1]}
        with pytest.raises(repo.UnknownModelVersionError, match="restaurant-v1, restaurant-v2"):
            resolve(session=session, content_type="restaurant", requested="restaurant-v9")
        with pytest.raises(ConfigurationError, match="tuned for 'product_description'"):
            resolve(session=session, content_type="restaurant", requested="product-v1")


def test_an_empty_database_says_how_versions_are_made(database_url: str) -> None:
    migrate.upgrade(database_url)
    with (
        session_scope(database_url) as session,
        pytest.raises(repo.UnknownModelVersionError, match=r"none yet \(`copydesk tune`"),
    ):
        repo.find_model_version(session=session, name="restaurant-v1")
