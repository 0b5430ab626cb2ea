"""The image stage: one generated picture per item waiting for review (`run --images`).

It runs after output: the content type's image prompt is rendered in the planner's
sandbox, the image is generated with a seed from the item's input hash, stored as an
immutable PNG, and recorded as an `Asset` row with its lineage. As in the text stages,
the model and the object store run with no transaction open and the rows go in one
short one; an item that already has an image is skipped, so a re-run adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from copydesk.content.images import render_image_prompt
from copydesk.content.outline import PlanError
from copydesk.content.types import ContentType, ImageSpec
from copydesk.errors import ConfigurationError
from copydesk.generation.base import ModelIdentity
from copydesk.generation.image_types import ImageRequest, ImageResult
from copydesk.hashing import sha256_text
from copydesk.pipeline.types import RunIds, StageCounts, seed_for
from copydesk.storage import ObjectStore, StoredObject, item_key
from db import repository as repo
from db.models import Asset, Item, ItemStatus
from db.session import session_scope

IMAGE = "image"  # Asset.kind, and the "section" name in the image's seed


PNG = "image/png"


class ImageGenerator(Protocol):
    """What the stage needs of an image backend (`DiffusersImageGenerator`, or a fake)."""

    @property
    def identity(self) -> ModelIdentity: ...

    def generate(self, requests: Sequence[ImageRequest]) -> list[ImageResult]: ...


@dataclass(frozen=True)
class _Image:
    item_id: int
    batch_id: int
    request: ImageRequest


def image_chunk(
    url: str,
    item_ids: Sequence[int],
    content_type: ContentType,
    generator: ImageGenerator,
    store: ObjectStore,
    run: RunIds,
) -> StageCounts:
    """An image for every item of the chunk that is pending review and has none yet.

    `done` counts new images, `skipped` items that already had one, `failed` items whose
    prompt could not be rendered (they keep their text and go to review without one).
    """
    spec = content_type.image
    if spec is None:
        raise ConfigurationError(f"content type {content_type.name!r} has no `image:` section")
    counts = StageCounts()
    with session_scope(url, readonly=True) as session:
        pending = repo.items_in_status(
            session=session, ids=item_ids, status=ItemStatus.PENDING_REVIEW
        )
        have = _with_images(session, [item.id for item in pending])
        snapshot = [
            (item.id, item.batch_id, item.input_sha256, item.input_record)
            for item in pending
            if item.id not in have
        ]
    counts.skipped += len(have)
    todo = []
    for item_id, batch_id, input_sha256, record in snapshot:
        try:
            prompt = render_image_prompt(content_type, spec, record)
        except PlanError:
            counts.failed += 1
            continue
        seed = seed_for(input_sha256, IMAGE, 1)
        todo.append(_Image(item_id, batch_id, _request(spec, prompt, seed)))
    if not todo:
        return counts
    results = generator.generate([image.request for image in todo])
    identity = generator.identity
    rows = []
    for image, result in zip(todo, results, strict=True):
        name = f"image-{result.sha256.removeprefix('sha256:')[:16]}.png"
        stored = store.put(item_key(image.batch_id, image.item_id, name), result.png, PNG)
        rows.append(_asset_row(image, result, stored, identity, content_type, run))
    with session_scope(url) as session:
        ids = [row.item_id for row in rows]
        # Lock the items (PostgreSQL; SQLite's writer lock already does) so two runs of
        # the same chunk cannot both add an image.
        live = set(session.scalars(select(Item.id).where(Item.id.in_(ids)).with_for_update()))
        have = _with_images(session, ids)
        for row in rows:
            if row.item_id in live and row.item_id not in have:
                session.add(row)
                counts.done += 1
            else:
                counts.skipped += 1
    return counts


def items_without_images(url: str, batch_id: int) -> list[int]:
    """The batch's items pending review with no image (left so by an earlier run)."""
    with session_scope(url, readonly=True) as session:
        pending = repo.item_ids(
            session=session, batch_id=batch_id, statuses=[ItemStatus.PENDING_REVIEW]
        )
        have = _with_images(session, pending)
    return [item_id for item_id in pending if item_id not in have]


def _with_images(session: Session, item_ids: Sequence[int]) -> set[int]:
    query = select(Asset.item_id).where(Asset.item_id.in_(list(item_ids)), Asset.kind == IMAGE)
    return set(session.scalars(query))


def _request(spec: ImageSpec, prompt: str, seed: int) -> ImageRequest:
    return ImageRequest(
        prompt,
        seed=seed,
        negative_prompt=spec.negative_prompt,
        width=spec.width,
        height=spec.height,
        steps=spec.steps,
        guidance_scale=spec.guidance_scale,
    )


def _asset_row(
    image: _Image,
    result: ImageResult,
    stored: StoredObject,
    identity: ModelIdentity,
    content_type: ContentType,
    run: RunIds,
) -> Asset:
    params = {
        **result.params,  # pipeline, scheduler, steps, guidance scale, negative prompt, batch
        "prompt": image.request.prompt,
        "prompt_sha256": sha256_text(image.request.prompt),
        "template_sha256": content_type.template_sha256,
        "backend": identity.backend,
        "device": identity.device,
        "dtype": identity.dtype,
        "library_versions": identity.library_versions,
        "duration_s": round(result.duration_s, 3),
        "prefect_flow_run_id": run.flow_run_id,
        "prefect_task_run_id": run.task_run_id,
    }
    return Asset(
        item_id=image.item_id,
        kind=IMAGE,
        object_key=stored.key,
        sha256=stored.sha256,
        mime_type=PNG,
        width=result.width,
        height=result.height,
        model_id=identity.model_id,
        model_revision=identity.revision,
        seed=result.seed,
        params=params,
    )
