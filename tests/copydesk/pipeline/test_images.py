"""The image stage on a tiny random Stable Diffusion pipeline, on both databases and stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from copydesk.content.images import image_spec, render_image_prompt
from copydesk.content.types import ContentType, load_content_type
from copydesk.errors import ConfigurationError
from copydesk.generation.hf_image import DiffusersImageGenerator
from copydesk.hashing import sha256_bytes
from copydesk.pipeline.batch import start_batch
from copydesk.pipeline.images import image_chunk, items_without_images
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.types import RunIds, seed_for
from copydesk.settings import get_settings
from copydesk.storage import LocalStore, ObjectStore, item_key
from db import migrate
from db.models import Asset, Batch, Item, ItemStatus
from db.session import session_scope
from tests.support.tiny_diffusion import build_tiny_pipeline

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN = RunIds(flow_run_id="flow-1", task_run_id="task-1")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


def small_images(tmp_path: Path, **image: object) -> ContentType:
    """product_description, copied, with tiny fast images (64x64, 2 steps) or `image`."""
    folder = tmp_path / "templates" / "product_description"
    shutil.copytree(get_settings().templates_dir / "product_description", folder)
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
    manifest["image"] |= {"width": 64, "height": 64, "steps": 2, **image}
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    return load_content_type("product_description", folder.parent)


def items_in_review(url: str, content_type: ContentType, count: int) -> list[int]:
    """`count` sample products as the output stage leaves them: pending review."""
    migrate.upgrade(url)
    source = content_type.folder / "samples" / "products.csv"
    batch_id = start_batch(url, content_type=content_type.name, source=source, options={})
    ingest_batch(url, batch_id, limit=count)
    with session_scope(url) as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
        for item in items:
            item.status = ItemStatus.PENDING_REVIEW
        return [item.id for item in items]


def assets(url: str) -> list[Asset]:
    with session_scope(url, readonly=True) as session:
        return list(session.scalars(select(Asset).order_by(Asset.item_id)))


def test_each_item_in_review_gets_one_stored_image_with_lineage(
    database_url: str, store: ObjectStore, tiny_model: Path, tmp_path: Path
) -> None:
    content_type = small_images(tmp_path)
    ids = items_in_review(database_url, content_type, 3)
    with session_scope(database_url) as session:  # not in review: no image
        session.get_one(Item, ids[2]).status = ItemStatus.FAILED
    generator = DiffusersImageGenerator(tiny_model, device="cpu")

    counts = image_chunk(database_url, ids, content_type, generator, store, RUN)

    assert (counts.done, counts.skipped, counts.failed) == (2, 0, 0)
    rows = assets(database_url)
    assert [row.item_id for row in rows] == ids[:2]
    with session_scope(database_url, readonly=True) as session:
        items = {item.id: item for item in session.scalars(select(Item))}
    for row in rows:
        item = items[row.item_id]
        data = store.get(row.object_key)
        assert data.startswith(PNG_SIGNATURE) and sha256_bytes(data) == row.sha256
        name = f"image-{row.sha256.removeprefix('sha256:')[:16]}.png"
        assert row.object_key == item_key(item.batch_id, item.id, name)
        stat = store.stat(row.object_key)
        assert stat is not None and stat.content_type == "image/png" == row.mime_type
        assert (row.kind, row.width, row.height) == ("image", 64, 64)
        assert row.model_id == "tiny-sd" and (row.model_revision or "").startswith("sha256:")
        assert row.seed == seed_for(item.input_sha256, "image", 1)
        assert row.params["prompt"].startswith(f"Product photo of {item.input_record['name']}")
        assert row.params["steps"] == 2 and row.params["negative_prompt"]
        assert row.params["template_sha256"] == content_type.template_sha256
        assert row.params["prefect_flow_run_id"] == "flow-1"
        assert row.params["prefect_task_run_id"] == "task-1"
        assert row.params["device"] == "cpu" and "diffusers" in row.params["library_versions"]
    assert items_without_images(database_url, items[ids[0]].batch_id) == []


def test_a_rerun_adds_no_second_image(
    database_url: str, store: ObjectStore, tiny_model: Path, tmp_path: Path
) -> None:
    content_type = small_images(tmp_path)
    ids = items_in_review(database_url, content_type, 2)
    generator = DiffusersImageGenerator(tiny_model, device="cpu")
    image_chunk(database_url, ids[:1], content_type, generator, store, RUN)
    first = assets(database_url)

    again = image_chunk(database_url, ids, content_type, generator, store, RUN)

    assert (again.done, again.skipped) == (1, 1)
    rows = assets(database_url)
    assert len(rows) == 2 and rows[0].id == first[0].id
    assert len(list(store.list("batches/"))) == 2


def test_an_unrenderable_prompt_leaves_the_item_in_review_without_an_image(
    database_url: str, tiny_model: Path, tmp_path: Path
) -> None:
    content_type = small_images(tmp_path)
    (content_type.folder / "image.prompt.j2").write_text("{{ record.no_such_field }}")
    ids = items_in_review(database_url, content_type, 1)
    generator = DiffusersImageGenerator(tiny_model, device="cpu")
    store = LocalStore(tmp_path / "objects")

    counts = image_chunk(database_url, ids, content_type, generator, store, RUN)

    assert (counts.done, counts.failed) == (0, 1)
    assert assets(database_url) == []


def test_the_product_prompt_names_the_product_its_category_colour_and_materials() -> None:
    content_type = load_content_type("product_description")
    assert content_type.image is not None and "image.prompt.j2" in content_type.template_files
    record = {
        "name": "Desk Lamp {{ 7*7 }}",
        "category": "Lighting",
        "colours": ["black", "white"],
        "materials": ["steel", "oak"],
    }
    prompt = render_image_prompt(content_type, content_type.image, record)
    assert prompt == (
        "Product photo of Desk Lamp {{ 7*7 }}, lighting, in black, made of steel and oak, "
        "on a plain white background, soft studio lighting, sharp focus, high detail"
    )


def test_images_need_an_image_section_and_a_model_folder(tiny_model: Path, tmp_path: Path) -> None:
    products = load_content_type("product_description")
    assert image_spec(products, tiny_model) == products.image
    with pytest.raises(ConfigurationError, match="no `image:` section"):
        image_spec(load_content_type("article"), tiny_model)
    with pytest.raises(ConfigurationError, match="set COPYDESK_IMAGE_MODEL"):
        image_spec(products, None)
    with pytest.raises(ConfigurationError, match="not a diffusers pipeline folder"):
        image_spec(products, tmp_path)


def test_an_image_size_must_be_a_multiple_of_8(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"image: .*multiples of 8, not 100x64"):
        small_images(tmp_path, width=100)


def test_run_images_without_a_model_is_one_line_and_starts_no_batch(
    isolated_settings: Path,
) -> None:
    from tests.copydesk.cli.test_main import copydesk

    source = get_settings().templates_dir / "product_description" / "samples" / "products.csv"
    result = copydesk("run", str(source), "--type", "product_description", "--images")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: images need an image model")
    with session_scope(get_settings().resolved_database_url, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 0
