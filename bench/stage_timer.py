"""Time the `generate-batch` flow's task bodies, stage by stage, in the bench process.

`patched_tasks` wraps each pipeline task's function (Prefect calls `task.fn`), so a
stage's time is exactly its tasks' bodies — settings, database, store, checks — and the
rest of a flow run's wall time is Prefect's. It also points the tasks at the bench's
generator (as tests/flows/conftest.py does) and, when given, a changed content type.
Everything is put back afterwards.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

STAGES = ("ingest", "plan", "generate", "refine", "output", "finish")
CHUNK_STAGES = ("plan", "generate", "refine", "output")
STAGE_OF_TASK = {
    "start-batch": "ingest",
    "ingest": "ingest",
    "list-chunks": "ingest",
    "plan": "plan",
    "generate": "generate",
    "refine": "refine",
    "output": "output",
    "finish-batch": "finish",
    "fail-chunk": "finish",
}


@dataclass
class StageTimer:
    """Wall seconds of every call per stage (one per chunk for the chunk stages), and
    the process's CPU seconds per stage."""

    calls: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    cpu_calls: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})

    @property
    def seconds(self) -> dict[str, float]:
        return {stage: sum(calls) for stage, calls in self.calls.items()}

    @property
    def cpu(self) -> dict[str, float]:
        return {stage: sum(calls) for stage, calls in self.cpu_calls.items()}

    def chunk_ms_per_item(self, items: int, chunk_size: int, *, cpu: bool = False) -> list[float]:
        """Each chunk's plan + generate + refine + output (wall or CPU), in ms per item."""
        calls = self.cpu_calls if cpu else self.calls
        per_chunk = zip(*(calls[s] for s in CHUNK_STAGES), strict=True)
        sizes = [min(chunk_size, items - start) for start in range(0, items, chunk_size)]
        return [round(1000 * sum(t) / n, 2) for t, n in zip(per_chunk, sizes, strict=True)]

    def stage_drift(self, items: int, chunk_size: int) -> dict[str, list[float]]:
        """Per chunk stage: mean ms/item over the first and the last tenth of the chunks,
        wall then CPU: `{"refine": [wall first, wall last, cpu first, cpu last]}`."""
        sizes = [min(chunk_size, items - start) for start in range(0, items, chunk_size)]
        tenth = max(1, len(sizes) // 10)
        drift = {}
        for stage in CHUNK_STAGES:
            row = []
            for calls in (self.calls[stage], self.cpu_calls[stage]):
                for part in (slice(None, tenth), slice(-tenth, None)):
                    seconds, count = sum(calls[part]), sum(sizes[part])
                    row.append(round(1000 * seconds / count, 2))
            drift[stage] = row
        return drift

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.calls[name].append(time.perf_counter() - start)
            self.cpu_calls[name].append(time.process_time() - cpu)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)  # Prefect reads the parameters from the signature
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return fn(*args, **kwargs)

        return timed


def pipeline_tasks() -> list[Any]:
    import tasks.batch
    import tasks.generate
    import tasks.ingest
    import tasks.output
    import tasks.plan
    import tasks.refine

    return [
        tasks.ingest.start_batch_task,
        tasks.ingest.ingest_task,
        tasks.batch.chunks_task,
        tasks.plan.plan_task,
        tasks.generate.generate_task,
        tasks.refine.refine_task,
        tasks.output.output_task,
        tasks.batch.finish_task,
        tasks.batch.fail_chunk_task,
    ]


@contextmanager
def patched_tasks(generator: Any, content_type: Any | None, timer: StageTimer) -> Iterator[None]:
    """The tasks use `generator` (and `content_type`, when given) and time their bodies."""
    import tasks.generate
    import tasks.output
    import tasks.plan
    import tasks.refine

    saved: list[tuple[Any, str, Any]] = []

    def put(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    for module in (tasks.generate, tasks.refine):
        put(module, "text_generator", lambda version_id=None: generator)  # any version: instant
    if content_type is not None:
        for module in (tasks.plan, tasks.refine, tasks.output):
            put(module, "load_content_type", lambda _name: content_type)
    for task in pipeline_tasks():
        put(task, "fn", timer.wrap(STAGE_OF_TASK[task.name], task.fn))
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)
