"""Model versions: a tune's adapter stored immutably and named, resolved (explicit >
promoted > base), fetched and verified by sha256 (a changed file is refused and nothing
is generated), and generation with it (LoRA merged into the base, cached per process)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from copydesk.content.types import ContentType
from copydesk.generation.hf_text import HFTextGenerator, load_text_model
from copydesk.settings import Settings
from copydesk.storage import LocalStore, ObjectStore
from copydesk.tuning.artifacts import describe_artifact
from copydesk.tuning.base_model import BaseModelRef
from copydesk.tuning.examples import examples_from_references
from copydesk.tuning.promotion import PromotionRefused, promote
from copydesk.tuning.serving import version_generator
from copydesk.tuning.training import TuneResult, tune
from copydesk.tuning.versions import (
    ArtifactIntegrityError,
    fetch_artifact,
    find_version,
    register_version,
    resolve_version,
    store_evaluation,
)
from db.model_versions import UnknownModelVersionError
from tests.copydesk.tuning.conftest import TWO_STEPS, reference_rows, write_references


@pytest.fixture(scope="module")
def trained(tiny_base: BaseModelRef, tmp_path_factory: pytest.TempPathFactory) -> TuneResult:
    from copydesk.content.types import load_content_type
    from tests.copydesk.tuning.conftest import ROOT

    folder = tmp_path_factory.mktemp("trained")
    restaurant = load_content_type("restaurant", ROOT / "templates")
    refs = write_references(folder / "refs.csv", reference_rows())
    examples = examples_from_references(refs, restaurant).examples
    return tune(tiny_base, examples, folder / "run", TWO_STEPS)


def test_a_version_is_stored_immutably_and_named(
    settings: Settings, store: ObjectStore, trained: TuneResult
) -> None:
    url = settings.resolved_database_url
    first = register_version(url, store, trained, content_type="restaurant")
    second = register_version(url, store, trained, content_type="restaurant", notes="again")

    assert (first.name, second.name) == ("restaurant-v1", "restaurant-v2")
    hex_digest = trained.sha256.removeprefix("sha256:")
    assert first.artifact_key == f"models/restaurant-v1/{hex_digest}/"
    stored = {o.key: o.sha256 for o in store.list(first.artifact_key)}
    assert stored == {
        first.artifact_key + n: d for n, d in trained.metadata["artifact"]["files"].items()
    }
    assert first.artifact_sha256 == trained.sha256
    assert first.base_model_revision == trained.metadata["base_model"]["revision"]
    assert first.data["examples"] == 12 and first.hyperparameters["lora_r"] == 4
    assert set(first.library_versions) >= {"torch", "transformers", "peft"}
    assert find_version(url, "restaurant-v2").notes == "again"
    assert find_version(url, str(first.id)).name == "restaurant-v1"
    with pytest.raises(UnknownModelVersionError, match="restaurant-v1, restaurant-v2"):
        find_version(url, "restaurant-v7")


def test_explicit_then_promoted_then_base(settings: Settings, trained: TuneResult) -> None:
    url, store = settings.resolved_database_url, LocalStore(settings.resolved_store_path)
    v1 = register_version(url, store, trained, content_type="restaurant")
    v2 = register_version(url, store, trained, content_type="restaurant")
    assert resolve_version(url, "restaurant", None) is None  # nothing promoted: the base
    promote(url, v1.name, "restaurant")
    assert getattr(resolve_version(url, "restaurant", None), "name", None) == "restaurant-v1"
    assert getattr(resolve_version(url, "restaurant", "restaurant-v2"), "id", None) == v2.id
    assert resolve_version(url, "restaurant", "base") is None


def test_promote_refuses_a_worse_version_unless_forced(
    settings: Settings, trained: TuneResult
) -> None:
    url, store = settings.resolved_database_url, LocalStore(settings.resolved_store_path)
    good = register_version(url, store, trained, content_type="restaurant")
    worse = register_version(url, store, trained, content_type="restaurant")
    reference = {"path": "refs.csv", "sha256": "sha256:r"}
    store_evaluation(
        url,
        good.id,
        {"reference": reference, "model_written": 0.9, "slot_error_rate": 0.02, "bleu": 0.6},
    )
    store_evaluation(
        url,
        worse.id,
        {"reference": reference, "model_written": 0.95, "slot_error_rate": 0.10, "bleu": 0.61},
    )
    promote(url, good.name, "restaurant")

    with pytest.raises(PromotionRefused, match=r"slot_error_rate 0.1 vs 0.02.*--force"):
        promote(url, worse.name, "restaurant")
    assert getattr(resolve_version(url, "restaurant", None), "name", None) == good.name
    forced = promote(url, worse.name, "restaurant", force=True)
    assert forced.forced and forced.previous == good.name
    assert getattr(resolve_version(url, "restaurant", None), "name", None) == worse.name


def test_a_changed_adapter_in_the_store_is_refused(
    settings: Settings, trained: TuneResult, tmp_path: Path
) -> None:
    url, store = settings.resolved_database_url, LocalStore(settings.resolved_store_path)
    version = register_version(url, store, trained, content_type="restaurant")
    cache = tmp_path / "cache"
    copy = fetch_artifact(store, version, cache)
    assert describe_artifact(copy)["sha256"] == version.artifact_sha256
    (copy / "adapter_model.safetensors").write_bytes(b"damaged")  # a damaged cache: fetched again
    assert describe_artifact(fetch_artifact(store, version, cache))["sha256"] == trained.sha256

    stored = settings.resolved_store_path / version.artifact_key / "adapter_config.json"
    stored.chmod(0o644)
    stored.write_text(stored.read_text().replace('"r": 4', '"r": 8'))  # tampered in the store
    fresh = tmp_path / "fresh"
    with pytest.raises(ArtifactIntegrityError, match="nothing is generated with them"):
        fetch_artifact(store, version, fresh)
    assert list(fresh.iterdir()) == []  # no partial copy left behind
    with pytest.raises(ArtifactIntegrityError):
        version_generator(settings, version.id)  # nor a generator to write with it


def test_generation_with_a_version_merges_its_adapter(
    settings: Settings, trained: TuneResult, tiny_base: BaseModelRef, restaurant: ContentType
) -> None:
    url, store = settings.resolved_database_url, LocalStore(settings.resolved_store_path)
    version = register_version(url, store, trained, content_type="restaurant")

    generator = version_generator(settings, version.id)
    base = version_generator(settings, None)

    assert isinstance(generator, HFTextGenerator) and isinstance(base, HFTextGenerator)
    assert generator.identity.model_version_id == version.id
    assert generator.identity.adapter_sha256 == version.artifact_sha256
    assert generator.identity.revision == tiny_base.revision  # the base it runs on
    assert base.identity.model_version_id is None
    merged = dict(generator.loaded.model.named_parameters())
    plain = dict(base.loaded.model.named_parameters())
    assert set(merged) == set(plain)  # merged: a plain model again, no LoRA layers
    changed = [n for n in plain if not torch.equal(plain[n], merged[n])]
    assert changed and all("proj" in n for n in changed)
    again = version_generator(settings, version.id)
    assert isinstance(again, HFTextGenerator) and again.loaded is generator.loaded  # cached
    assert load_text_model.cache_info().currsize >= 2
