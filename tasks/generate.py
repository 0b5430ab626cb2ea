from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from copydesk.pipeline.generate import generate_chunk
from copydesk.pipeline.types import GenerationOptions
from tasks.common import RETRIES, RETRY_DELAYS, database_url, run_ids, text_generator


@task(name="generate", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS, cache_policy=NO_CACHE)
def generate_task(item_ids: list[int], options: dict[str, Any]) -> dict[str, Any]:
    chosen = GenerationOptions(**options)
    generator = text_generator(chosen.model_version_id)
    counts = generate_chunk(database_url(), item_ids, generator, chosen, run_ids())
    return asdict(counts)
