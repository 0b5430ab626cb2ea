from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from copydesk.pipeline.regenerate import round_options, start_round, waiting_items
from tasks.common import database_url


@task(name="start-regeneration-round", cache_policy=NO_CACHE)
def start_round_task(batch_id: int | None) -> list[tuple[str, list[int], dict[str, Any]]]:
    """Items editors sent back, moved into their next round: (content type, ids, options)."""
    url = database_url()
    started = start_round(url, waiting_items(url, batch_id))
    return [(kind, ids, asdict(round_options(url, ids))) for kind, ids in started.items()]
