"""A chunk's stages run in this process, one after another: what regeneration from the
review desk, the tests and the benchmarks use where the flows use Prefect tasks.

Each stage picks only the items still in the status it consumes, so running the stages
again (or from a later one) resumes; the first stage that raises stops the chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

from copydesk.content.types import ContentType
from copydesk.generation.base import TextGenerator
from copydesk.pipeline.generate import generate_chunk
from copydesk.pipeline.output import output_chunk
from copydesk.pipeline.plan import plan_chunk
from copydesk.pipeline.refine import refine_chunk
from copydesk.pipeline.types import GenerationOptions, RunIds, StageCounts
from copydesk.storage import ObjectStore

STAGES = ("plan", "generate", "refine", "output")


def run_stages(
    url: str,
    item_ids: Sequence[int],
    content_type: ContentType,
    generator: TextGenerator,
    store: ObjectStore,
    options: GenerationOptions = GenerationOptions(),  # noqa: B008 - frozen, immutable default
    run: RunIds = RunIds(),  # noqa: B008 - frozen, immutable default
    *,
    start: str = "plan",
    check_threads: int = 1,
) -> StageCounts:
    """Run the chunk's stages from `start` to output; the output stage's counts."""
    if start not in STAGES:
        raise ValueError(f"unknown stage {start!r}; one of {', '.join(STAGES)}")
    counts = StageCounts()
    for stage in STAGES[STAGES.index(start) :]:
        if stage == "plan":
            counts = plan_chunk(url, item_ids, content_type)
        elif stage == "generate":
            counts = generate_chunk(url, item_ids, generator, options, run)
        elif stage == "refine":
            counts = refine_chunk(
                url, item_ids, content_type, generator, options, run, threads=check_threads
            )
        else:
            counts = output_chunk(url, item_ids, content_type, store)
    return counts
