"""Shipped model versions: a registered version exported as a repo folder (bf16 weights,
version.json), installed on a fresh home's first use (registered, stored, promoted on
the base model it was tuned from), once; a changed file is refused and nothing lands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from copydesk.generation.base import Decoding, GenerationRequest
from copydesk.settings import Settings, get_settings
from copydesk.storage import LocalStore
from copydesk.tuning.serving import version_generator
from copydesk.tuning.shipped import VERSION_FILE, export_version, install_shipped_versions
from copydesk.tuning.training import TuneResult
from copydesk.tuning.versions import (
    ArtifactIntegrityError,
    list_versions,
    promoted_versions,
    register_version,
    resolve_version,
)
from db import migrate
from tests.copydesk.tuning.test_versions import trained  # noqa: F401  (the module fixture)


@pytest.fixture
def shipped(settings: Settings, trained: TuneResult, tmp_path: Path) -> Path:  # noqa: F811
    """`restaurant-v1` registered on one home, exported to `tmp/models/restaurant-v1`."""
    store = LocalStore(settings.resolved_store_path)
    register_version(settings.resolved_database_url, store, trained, content_type="restaurant")
    folder = tmp_path / "models" / "restaurant-v1"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# restaurant-v1\n")
    export_version(settings, store, "restaurant-v1", folder)
    return folder


def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Settings:
    url = f"sqlite:///{tmp_path / name}.db"
    monkeypatch.setenv("COPYDESK_DATABASE_URL", url)
    monkeypatch.setenv("COPYDESK_STORE_PATH", str(tmp_path / f"{name}-objects"))
    monkeypatch.setenv("COPYDESK_SHIPPED_MODELS", "true")
    get_settings.cache_clear()
    migrate.upgrade(url)
    return get_settings()


def test_export_writes_the_bf16_adapter_and_the_version(shipped: Path, trained: TuneResult) -> None:  # noqa: F811
    meta = json.loads((shipped / VERSION_FILE).read_text())
    weights = load_file(shipped / "adapter_model.safetensors")
    assert weights and {str(t.dtype) for t in weights.values()} == {"torch.bfloat16"}
    assert set(meta["artifact_files"]) == {"adapter_config.json", "adapter_model.safetensors"}
    assert meta["artifact_sha256"] == trained.sha256  # the tune's own files
    assert meta["name"] == "restaurant-v1" and meta["content_type"] == "restaurant"
    assert (shipped / "README.md").read_text() == "# restaurant-v1\n"  # the card is kept


def test_a_fresh_home_installs_and_promotes_it_once(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_home(tmp_path, monkeypatch, "fresh")
    url, store = settings.resolved_database_url, LocalStore(settings.resolved_store_path)
    assert resolve_version(url, "restaurant", None) is None  # the base model, before

    assert install_shipped_versions(settings, store, shipped.parent) == ["restaurant-v1"]
    assert install_shipped_versions(settings, store, shipped.parent) == []  # once

    version = resolve_version(url, "restaurant", None)  # now the promoted one
    assert version is not None and version.name == "restaurant-v1"
    assert promoted_versions(url) == {"restaurant": version.id}
    generator = version_generator(settings, version.id)  # fetched, verified, merged
    assert generator.identity.adapter_sha256 == version.artifact_sha256
    assert generator.generate([]) == []
    request = GenerationRequest.chat("Describe Aromi.", decoding=Decoding(max_new_tokens=4))
    assert generator.generate([request])[0].tokens_out <= 4


def test_no_promotion_on_another_base_model_nor_over_one(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_home(tmp_path, monkeypatch, "other")
    monkeypatch.setenv("COPYDESK_TEXT_MODEL", "bundled")  # not the (tiny) base it was tuned on
    get_settings.cache_clear()
    settings = get_settings()
    store = LocalStore(settings.resolved_store_path)
    assert install_shipped_versions(settings, store, shipped.parent) == ["restaurant-v1"]
    assert [v.name for v in list_versions(settings.resolved_database_url)] == ["restaurant-v1"]
    assert promoted_versions(settings.resolved_database_url) == {}


def test_a_changed_shipped_file_is_refused_and_nothing_installed(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_home(tmp_path, monkeypatch, "tampered")
    config = shipped / "adapter_config.json"
    config.write_text(config.read_text().replace('"r": 4', '"r": 5'))
    store = LocalStore(settings.resolved_store_path)
    with pytest.raises(ArtifactIntegrityError, match="restore the folder"):
        install_shipped_versions(settings, store, shipped.parent)
    assert list_versions(settings.resolved_database_url) == []


def test_turned_off_it_installs_nothing(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_home(tmp_path, monkeypatch, "off")
    monkeypatch.setenv("COPYDESK_SHIPPED_MODELS", "false")
    get_settings.cache_clear()
    store = LocalStore(tmp_path / "objects-off")
    assert install_shipped_versions(get_settings(), store, shipped.parent) == []
    assert list_versions(settings.resolved_database_url) == []
