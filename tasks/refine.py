from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from copydesk.content.types import load_content_type
from copydesk.pipeline.refine import refine_chunk
from copydesk.pipeline.types import GenerationOptions
from copydesk.settings import get_settings
from tasks.common import RETRIES, RETRY_DELAYS, database_url, run_ids, text_generator


@task(name="refine", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS, cache_policy=NO_CACHE)
def refine_task(content_type: str, item_ids: list[int], options: dict[str, Any]) -> dict[str, Any]:
    chosen = GenerationOptions(**options)
    counts = refine_chunk(
        database_url(),
        item_ids,
        load_content_type(content_type),
        text_generator(chosen.model_version_id),
        chosen,
        run_ids(),
        threads=get_settings().check_threads,
    )
    return asdict(counts)
