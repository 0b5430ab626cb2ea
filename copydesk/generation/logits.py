"""The logits processors the transformers backend runs in `generate`: a recorder of the
model's log-probability of each generated token, the repetition penalty over the generated
tokens only, and a sampler that draws each row with its own seeded generator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import (
    LogitsProcessor,
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from copydesk.generation.base import Decoding


class SeededSampler(LogitsProcessor):  # type: ignore[misc]
    """Sample each row with its own generator, then leave only the chosen token.

    Used with greedy `generate`, so argmax picks exactly the sampled token; temperature,
    top-k and top-p are transformers' own warpers, applied before the draw.
    """

    def __init__(self, generators: list[torch.Generator], decoding: Decoding) -> None:
        self.generators = generators
        warpers: list[Any] = [TemperatureLogitsWarper(decoding.temperature)]
        if decoding.top_k is not None:
            warpers.append(TopKLogitsWarper(decoding.top_k))
        if decoding.top_p is not None and decoding.top_p < 1:
            warpers.append(TopPLogitsWarper(decoding.top_p))
        self.warpers = LogitsProcessorList(warpers)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(self.warpers(input_ids, scores.float()), dim=-1)
        chosen = torch.stack(
            [
                torch.multinomial(row, 1, generator=gen)
                for row, gen in zip(probs, self.generators, strict=True)
            ]
        )
        picked = torch.full_like(scores, float("-inf"))
        return picked.scatter_(1, chosen, 0.0)  # type: ignore[return-value]


class TokenLogprobs(LogitsProcessor):  # type: ignore[misc]
    """Records the model's log-probability of each token it generates (before any
    penalty or temperature): each call sees the token chosen after the previous one.
    `finish(last_tokens)` adds the last step's; `per_row` then holds one list per row."""

    def __init__(self) -> None:
        self.previous: torch.Tensor | None = None
        self.per_row: list[list[float]] = []

    def _take(self, previous: torch.Tensor, chosen: torch.Tensor) -> None:
        picked = previous.gather(1, chosen.view(-1, 1).to(previous.device)).view(-1)
        if not self.per_row:
            self.per_row = [[] for _ in range(picked.shape[0])]
        for row, value in zip(self.per_row, picked.tolist(), strict=True):
            row.append(value)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.previous is not None:
            self._take(self.previous, input_ids[:, -1])
        self.previous = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, last_tokens: torch.Tensor) -> None:
        if self.previous is not None:
            self._take(self.previous, last_tokens)
            self.previous = None


def mean_logprob(logprobs: Sequence[float], kept: int) -> float | None:
    """The mean over the first `kept` tokens (the text's, before any end token)."""
    values = list(logprobs[:kept])
    return round(sum(values) / len(values), 4) if values else None


def logits_processors(
    decoding: Decoding, prompt_width: int, seeds: Sequence[int | None], device: str
) -> LogitsProcessorList:
    """The processors of one bucket: the token log-probabilities recorder first (on the
    model's own scores; not for beam search), the repetition penalty over the generated tokens only (the first
    `prompt_width` ids are the left-padded prompts), then the seeded sampler unless
    greedy."""
    # beam search reorders its hypotheses every step: it scores them itself
    processors = LogitsProcessorList([] if decoding.num_beams > 1 else [TokenLogprobs()])
    if decoding.repetition_penalty != 1.0:
        processors.append(
            RepetitionPenaltyLogitsProcessor(decoding.repetition_penalty, prompt_width)
        )
    if not decoding.greedy:
        generators = [torch.Generator(device).manual_seed(seed or 0) for seed in seeds]
        processors.append(SeededSampler(generators, decoding))
    return processors
