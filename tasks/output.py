from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from copydesk.content.types import load_content_type
from copydesk.pipeline.output import output_chunk
from tasks.common import RETRIES, RETRY_DELAYS, database_url, object_store


@task(name="output", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS, cache_policy=NO_CACHE)
def output_task(content_type: str, item_ids: list[int]) -> dict[str, Any]:
    return asdict(
        output_chunk(database_url(), item_ids, load_content_type(content_type), object_store())
    )
