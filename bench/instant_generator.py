"""A text generator that costs nothing and is always right, for pipeline benchmarks.

It answers each section's first attempt with the content type's deterministic fallback
text for that record (`<section>.fallback.j2`), prepared before the run and looked up by
the attempt's seed. Refinement therefore passes every section at its first attempt, and
a benchmark measures the pipeline, not a model or its retries.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copydesk.generation.base import GenerationRequest, GenerationResult, ModelIdentity


@dataclass
class InstantGenerator:
    """Answers each first attempt with its prepared text; a retry is a bench error."""

    texts: dict[int, str]  # seed of a section's first attempt -> its fallback text
    seconds: float = 0.0  # spent in generate(), to show it is nothing

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity("bench", "instant-fallback", "sha256:none", "cpu", "none", {})

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        start, results = time.perf_counter(), []
        for request in requests:
            text = self.texts.get(request.seed or 0)
            if text is None:
                raise RuntimeError("the bench generator was asked for a retry: a text failed")
            prompt = request.messages[-1].content if request.messages else request.prompt or ""
            tokens_in, tokens_out = len(prompt.split()), len(text.split())
            results.append(
                GenerationResult(text, prompt, tokens_in, tokens_out, "stop", 0.0, request.seed)
            )
        self.seconds += time.perf_counter() - start
        return results


def fallback_texts(source: Path, content_type: Any) -> dict[int, str]:
    """The fallback text of every section of every row of `source`, by its first seed
    (the rows read and hashed as the ingest stage reads and hashes them)."""
    from copydesk.content.outline import render_plan
    from copydesk.inputs.readers import ingest_rows
    from copydesk.pipeline.refine import fallback_text
    from copydesk.pipeline.types import seed_for

    texts = {}
    for item in ingest_rows(source, content_type):
        if item.error:
            raise ValueError(f"the bench catalogue made an invalid row: {item.error}")
        record = item.input_record
        for section in render_plan(content_type, record).sections:
            text = fallback_text(content_type, section, record) or ""
            texts[seed_for(item.input_sha256, section.name, 1)] = text
    return texts
