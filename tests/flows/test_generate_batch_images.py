"""`generate_batch(images=True)`: an image per reviewed item, on a tiny diffusion model."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from copydesk.errors import ConfigurationError
from copydesk.settings import Settings, get_settings
from copydesk.storage import create_store
from db.models import Asset, Batch, Item, ItemStatus
from db.session import session_scope
from flows.generate_batch import generate_batch
from tests.flows.conftest import SAMPLES
from tests.support.fake_generator import FakeGenerator
from tests.support.tiny_diffusion import build_tiny_pipeline

PRODUCTS = SAMPLES / "product_description" / "samples" / "products.csv"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture
def image_model(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """COPYDESK_IMAGE_MODEL set, and product_description making 64x64 images in 2 steps."""
    templates = tmp_path / "templates"
    for name in ("product_description", "article"):
        shutil.copytree(get_settings().templates_dir / name, templates / name)
    manifest_path = templates / "product_description" / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["image"] |= {"width": 64, "height": 64, "steps": 2}
    manifest_path.write_text(yaml.safe_dump(manifest))
    monkeypatch.setattr(Settings, "templates_dir", property(lambda self: templates))
    monkeypatch.setenv("COPYDESK_IMAGE_MODEL", str(tiny_model))
    get_settings.cache_clear()
    return tiny_model


def images_by_item(url: str) -> dict[int, list[Asset]]:
    """Every pending_review item → its image assets."""
    with session_scope(url, readonly=True) as session:
        items = session.scalars(select(Item.id).where(Item.status == ItemStatus.PENDING_REVIEW))
        found: dict[int, list[Asset]] = {item_id: [] for item_id in items}
        for asset in session.scalars(select(Asset).where(Asset.kind == "image")):
            found.setdefault(asset.item_id, []).append(asset)
    return found


def task_run_name(task_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    async def read() -> str:
        async with get_client() as client:
            return (await client.read_task_run(task_run_id)).name

    return asyncio.run(read())


def test_every_reviewed_item_gets_one_stored_image(
    database: str, fake: FakeGenerator, image_model: Path
) -> None:
    summary = generate_batch(
        source=str(PRODUCTS), content_type="product_description", chunk_size=3, images=True
    )

    total = summary["total"]
    assert summary["counts"] == {"pending_review": total} and summary["images"] == total
    found = images_by_item(database)
    assert len(found) == total and all(len(assets) == 1 for assets in found.values())
    store = create_store(get_settings())
    assets = [assets[0] for assets in found.values()]
    for asset in assets:
        stat = store.stat(asset.object_key)
        assert stat is not None and stat.sha256 == asset.sha256
        assert (asset.width, asset.height, asset.model_id) == (64, 64, image_model.name)
    with session_scope(database) as session:
        batch = session.get_one(Batch, summary["batch_id"])
        assert batch.options["images"] is True
        assert {a.params["prefect_flow_run_id"] for a in assets} == {batch.prefect_flow_run_id}
    assert task_run_name(assets[0].params["prefect_task_run_id"]) == "images chunk 1/3"

    again = generate_batch(batch_id=summary["batch_id"], images=True)  # nothing left to do

    assert again["images"] == total
    assert all(len(assets) == 1 for assets in images_by_item(database).values())
    assert len([o for o in store.list("batches/") if o.key.endswith(".png")]) == total


def test_a_resume_with_images_adds_them_to_items_already_in_review(
    database: str, fake: FakeGenerator, image_model: Path
) -> None:
    first = generate_batch(source=str(PRODUCTS), content_type="product_description", limit=2)
    assert first["images"] == 0

    summary = generate_batch(batch_id=first["batch_id"], limit=2, images=True)

    assert summary["images"] == 2
    assert sorted(len(assets) for assets in images_by_item(database).values()) == [1, 1]


def test_images_without_a_model_or_an_image_section_fail_before_a_batch_starts(
    database: str, fake: FakeGenerator, image_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="no `image:` section"):
        generate_batch(source=str(PRODUCTS), content_type="article", images=True)
    monkeypatch.delenv("COPYDESK_IMAGE_MODEL")
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="set COPYDESK_IMAGE_MODEL"):
        generate_batch(source=str(PRODUCTS), content_type="product_description", images=True)

    with session_scope(database) as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 0
    assert fake.calls == 0
