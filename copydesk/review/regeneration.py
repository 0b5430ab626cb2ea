"""Regenerations asked for in the review app, run in the app's process one at a time.

One worker thread, so model calls never overlap (one model in memory, one GPU); the text
generator of the item's batch's model version is created on first use, in that thread,
and kept for the process. A round that
fails is logged; its items stay where the pipeline left them (a later `copydesk review
regenerate` or the `regenerate-requested` flow can take them again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from copydesk.generation.base import TextGenerator
from copydesk.pipeline.regenerate import regenerate_items
from copydesk.pipeline.types import StageCounts
from copydesk.storage import ObjectStore

log = logging.getLogger("copydesk.review")

GeneratorFactory = Callable[[int | None], TextGenerator]  # a model version id (None: base)


class Regenerator:
    def __init__(self, url: str, store: ObjectStore, generator_factory: GeneratorFactory) -> None:
        self._url, self._store, self._factory = url, store, generator_factory
        self._generators: dict[int | None, TextGenerator] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copydesk-regen")

    def submit(self, item_id: int) -> Future[StageCounts | None]:
        """Queue a regeneration round for the item (already in status `regenerate`)."""
        return self._executor.submit(self._run, item_id)

    def generator(self, version_id: int | None = None) -> TextGenerator:
        with self._lock:
            if version_id not in self._generators:
                self._generators[version_id] = self._factory(version_id)
            return self._generators[version_id]

    def shutdown(self) -> None:
        """Finish the round in progress, drop the ones still waiting."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, item_id: int) -> StageCounts | None:
        try:
            counts = regenerate_items(self._url, [item_id], self.generator, self._store)
        except Exception:
            log.exception("regeneration of item %s failed", item_id)
            return None
        log.info("regenerated item %s: %s done, %s failed", item_id, counts.done, counts.failed)
        return counts
