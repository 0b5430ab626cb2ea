"""The plain types the stages share: run ids for lineage, decoding options, stage counts,
a section's attempts and an item's work, and the seed of each attempt."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from copydesk.content.outline import SectionPlan
from copydesk.generation.base import Decoding, GenerationRequest, GenerationResult

REFINER = "copydesk-refiner"  # the author of refiner revisions


@dataclass(frozen=True)
class RunIds:
    flow_run_id: str | None = None
    task_run_id: str | None = None


@dataclass(frozen=True)
class GenerationOptions:
    """Decoding for every section, and how many attempts refinement may make."""

    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.1
    max_attempts: int = 3
    # Retries sample (with their own seed): greedy decoding of the same prompt would only
    # repeat the previous attempt.
    retry_temperature: float = 0.7
    retry_top_p: float = 0.95
    # The tuned model version the batch writes with (None: the base model); the tasks
    # build their generator for it, and every generation row records it.
    model_version_id: int | None = None
    # Texts per attempt for every section (None: each section's manifest `candidates:`).
    candidates: int | None = None
    # Beams of the first attempt's first candidate (None: each section's manifest
    # `beams:`; 1 decodes greedily).
    beams: int | None = None

    def candidates_for(self, section: SectionPlan) -> int:
        return self.candidates or section.candidates

    def beams_for(self, section: SectionPlan) -> int:
        return self.beams or section.beams

    def requests(
        self, section: SectionPlan, prompt: str, input_sha256: str, attempt: int, *, retry: bool
    ) -> list[GenerationRequest]:
        """An attempt's candidates, made in one batched call: the first attempt's first
        candidate decodes as configured (greedy by default, by beam search with `beams`);
        the others, and every retry, sample with their own seed."""
        return [
            GenerationRequest.chat(
                prompt,
                decoding=self.decoding(section, retry=retry or number > 0),
                seed=seed_for(input_sha256, section.name, attempt, number),
            )
            for number in range(self.candidates_for(section))
        ]

    def decoding(self, section: SectionPlan, *, retry: bool = False) -> Decoding:
        sampled = retry or self.temperature > 0
        return Decoding(
            max_new_tokens=section.max_new_tokens,
            temperature=max(self.temperature, self.retry_temperature)
            if retry
            else self.temperature,
            top_k=self.top_k,
            top_p=self.retry_top_p if retry and self.top_p is None else self.top_p,
            repetition_penalty=self.repetition_penalty,
            num_beams=1 if sampled else self.beams_for(section),
        )


@dataclass
class StageCounts:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def seed_for(input_sha256: str, section: str, attempt: int, candidate: int = 0) -> int:
    """A stable seed per item, section, attempt and candidate (so re-runs repeat
    themselves)."""
    key = f"{input_sha256}:{section}:{attempt}" + (f":{candidate}" if candidate else "")
    return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)


def candidate_order(
    severities: Iterable[str], mean_logprob: float | None, candidate: int
) -> tuple[int, int, float, int]:
    """How the checks order an attempt's candidates (the smallest first): no errors first,
    then the fewest warnings, then the highest mean token log-probability, then the
    lowest candidate number (the first attempt's greedy or beam one). `severities`: the
    candidate's findings' severities."""
    counts = Counter(severities)
    logprob = mean_logprob if mean_logprob is not None else float("-inf")
    return (counts["error"], counts["warning"], -logprob, candidate)


@dataclass
class Attempt:
    """One candidate of a section's attempt: an existing generation row (`row_id`) or a
    new one (`new`)."""

    attempt: int
    output: str
    row_id: int | None = None
    new: int | None = None  # index into the chunk's new generations
    candidate: int = 0
    mean_logprob: float | None = None


@dataclass
class ItemWork:
    item_id: int
    input_sha256: str
    plan_id: int
    sections: tuple[SectionPlan, ...]
    record: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, list[Attempt]] = field(default_factory=dict)  # the last attempt's candidates
    generation_round: int = 1
    notes: str | None = None  # an editor's notes for a regeneration round

    def next_attempt(self, section: str) -> int:
        """Attempt numbers go on across rounds (a regeneration continues the count)."""
        latest = self.latest.get(section)
        return latest[0].attempt + 1 if latest else 1

    def add(self, section: str, attempt: Attempt) -> None:
        """Keep `attempt` among the section's latest candidates (a later attempt replaces
        the earlier one's)."""
        current = self.latest.get(section)
        if current and current[0].attempt == attempt.attempt:
            current.append(attempt)
        elif not current or attempt.attempt > current[0].attempt:
            self.latest[section] = [attempt]

    def prompt(self, section: SectionPlan) -> str:
        return with_notes(section.prompt, self.notes)


def with_notes(prompt: str, notes: str | None) -> str:
    """A section's prompt with an editor's regeneration notes, when there are some."""
    if not notes:
        return prompt
    return f"{prompt}\n\nAn editor read an earlier version and asked for these changes:\n{notes}"


@dataclass
class NewGeneration:
    item_id: int
    plan_id: int
    section: str
    attempt: int
    request: GenerationRequest
    result: GenerationResult
    generation_round: int = 1
    candidate: int = 0
