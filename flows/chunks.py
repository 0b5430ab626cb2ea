"""The one way a flow runs a chunk's stages: in order, each a task with the configured
retries, and the first stage that does not complete fails the chunk's unfinished items
(with the stage and its message) so the batch goes on with the next chunk.

`run_chunk` runs them in the flow run; `submit_chunk` + `settle_chunk` hand them to the
flow's task runner (Dask) and settle each chunk when its stages are done.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture

from tasks.batch import fail_chunk_task
from tasks.common import with_retries
from tasks.generate import generate_task
from tasks.output import output_task
from tasks.plan import plan_task
from tasks.refine import refine_task

STAGES = ("plan", "generate", "refine", "output")
Stage = tuple[str, Any, tuple[Any, ...]]


def chunk_stages(
    kind: str, item_ids: list[int], options: dict[str, Any], *, start: str = "plan"
) -> list[Stage]:
    """(name, task, arguments) of each stage from `start` to output."""
    stages: dict[str, Stage] = {
        "plan": ("plan", plan_task, (kind, item_ids)),
        "generate": ("generate", generate_task, (item_ids, options)),
        "refine": ("refine", refine_task, (kind, item_ids, options)),
        "output": ("output", output_task, (kind, item_ids)),
    }
    return [stages[name] for name in STAGES[STAGES.index(start) :]]


def failure(stage: str, state: State[Any]) -> str:
    """Why a chunk's items failed, for their `error`."""
    if state.is_failed():
        return f"{stage} failed after retries: {state.message}"
    return f"{stage} did not finish ({state.name}): {state.message}"  # e.g. a lost Dask worker


def run_chunk(stages: list[Stage], item_ids: list[int], label: str) -> bool:
    """Run the stages in this flow run; on the first failed one fail the chunk. Whether
    every stage completed."""
    logger = get_run_logger()
    for stage, stage_task, args in stages:
        named = with_retries(stage_task, task_run_name=f"{stage} {label}")
        state = named(*args, return_state=True)
        if state.is_failed():
            fail_chunk_task(item_ids, failure(stage, state))
            logger.warning("%s %s failed: %s", stage, label, state.message)
            return False
        logger.info("%s %s: %s", stage, label, stage_counts(state.result()))
    return True


def stage_counts(result: Any) -> str:
    """A stage's counts in words: `8 done, 0 failed, passed 6, fallback 2`."""
    if not isinstance(result, dict):
        return str(result)
    extra = result.get("extra") or {}
    words = [f"{result.get('done', 0)} done", f"{result.get('failed', 0)} failed"]
    return ", ".join(words + [f"{key} {value}" for key, value in sorted(extra.items())])


def submit_chunk(stages: list[Stage], label: str) -> list[tuple[str, PrefectFuture[Any]]]:
    """Submit the stages to the flow's task runner, each waiting for the one before."""
    submitted: list[tuple[str, PrefectFuture[Any]]] = []
    for stage, stage_task, args in stages:
        named = with_retries(stage_task, task_run_name=f"{stage} {label}")
        wait_for = [submitted[-1][1]] if submitted else []
        submitted.append((stage, named.submit(*args, wait_for=wait_for)))
    return submitted


def settle_chunk(submitted: list[tuple[str, PrefectFuture[Any]]], item_ids: list[int]) -> bool:
    """Wait for a submitted chunk's stages in order; on the first that did not complete
    (later ones never started) fail the chunk. Whether every stage completed."""
    for stage, future in submitted:
        future.wait()
        if not future.state.is_completed():
            fail_chunk_task(item_ids, failure(stage, future.state))
            return False
    return True
