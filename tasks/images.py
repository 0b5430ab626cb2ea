from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from copydesk.chunking import chunked
from copydesk.content.images import image_spec
from copydesk.content.types import load_content_type
from copydesk.pipeline.images import image_chunk, items_without_images
from copydesk.settings import get_settings
from tasks.common import (
    RETRIES,
    RETRY_DELAYS,
    database_url,
    image_generator,
    object_store,
    run_ids,
)


@task(name="check-images", task_run_name="check images of {content_type}", cache_policy=NO_CACHE)
def check_images_task(content_type: str) -> None:
    image_spec(load_content_type(content_type), get_settings().image_model)


@task(
    name="list-image-backlog",
    task_run_name="list items of batch {batch_id} without images",
    cache_policy=NO_CACHE,
)
def image_backlog_task(batch_id: int, chunk_size: int) -> list[list[int]]:
    ids = items_without_images(database_url(), batch_id)
    return list(chunked(ids, chunk_size))


@task(name="images", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS, cache_policy=NO_CACHE)
def images_task(content_type: str, item_ids: list[int]) -> dict[str, Any]:
    counts = image_chunk(
        database_url(),
        item_ids,
        load_content_type(content_type),
        image_generator(),
        object_store(),
        run_ids(),
    )
    return asdict(counts)
