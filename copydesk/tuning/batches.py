"""Examples as token batches for completion-only training.

The prompt is rendered with the model's chat template exactly as the transformers
backend renders a chat request (one user message, the generation prompt added), and
tokenised on its own, as at generation time; the text follows with the end-of-turn
token, which is what stops a generation. Only the text's tokens carry labels: the
prompt's are masked (-100), so the model learns to answer, not to write prompts.

The order of examples is a seeded permutation per epoch, computed from the micro-batch
index alone, so a resumed run sees the batches the interrupted one would have.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from copydesk.tuning.errors import BaseModelError
from copydesk.tuning.examples import Example

IGNORE = -100  # the label of a token the loss skips


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    prompt_tokens: int  # the first `prompt_tokens` ids are the prompt (masked)

    @property
    def completion_tokens(self) -> int:
        return len(self.input_ids) - self.prompt_tokens


def render_chat_prompt(tokenizer: Any, prompt: str) -> str:
    """The text the model sees for a section's prompt (as `HFTextGenerator.render`)."""
    if not getattr(tokenizer, "chat_template", None):
        raise BaseModelError(
            "the base model's tokenizer has no chat template; the pipeline sends chat "
            "requests, so tune an instruction-tuned model (with a chat template)"
        )
    messages = [{"role": "user", "content": prompt}]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def end_of_turn_id(tokenizer: Any) -> int:
    eos = tokenizer.eos_token_id
    if eos is None:
        raise BaseModelError("the base model's tokenizer has no end-of-sequence token")
    return int(eos)


def encode_examples(
    tokenizer: Any, examples: Sequence[Example], max_length: int
) -> tuple[list[Encoded], int]:
    """Token ids of each example that fits `max_length`, and how many did not fit."""
    eos = end_of_turn_id(tokenizer)
    prompts = [render_chat_prompt(tokenizer, e.prompt) for e in examples]
    prompt_ids = tokenizer(prompts, add_special_tokens=False).input_ids
    text_ids = tokenizer([e.completion for e in examples], add_special_tokens=False).input_ids
    encoded, too_long = [], 0
    for prompt, text in zip(prompt_ids, text_ids, strict=True):
        ids = [*prompt, *text, eos]
        if len(ids) > max_length:
            too_long += 1
            continue
        encoded.append(Encoded(ids, len(prompt)))
    return encoded, too_long


@functools.lru_cache(maxsize=8)
def _permutation(size: int, seed: int, epoch: int) -> tuple[int, ...]:
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return tuple(torch.randperm(size, generator=generator).tolist())


def micro_batch_indices(size: int, batch_size: int, seed: int, index: int) -> list[int]:
    """Example indices of micro-batch `index` in the endless, epoch-by-epoch shuffled order."""
    positions = range(index * batch_size, (index + 1) * batch_size)
    return [_permutation(size, seed, p // size)[p % size] for p in positions]


def collate(items: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Left-padded `input_ids`, `attention_mask`, `position_ids` and `labels` (prompt and
    padding masked), as generation pads a batch. Every text then ends at the last position,
    so the logits of the last `keep` positions (`logits_to_keep`) are all the loss needs:
    the output head runs over the texts, not over the (longer) prompts."""
    width = max(len(item.input_ids) for item in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    for row, item in enumerate(items):
        start = width - len(item.input_ids)
        ids[row, start:] = torch.tensor(item.input_ids)
        mask[row, start:] = 1
        labels[row, start + item.prompt_tokens :] = ids[row, start + item.prompt_tokens :]
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "position_ids": (mask.cumsum(dim=1) - 1).clamp(min=0),
        "labels": labels,
        "keep": torch.tensor(max(item.completion_tokens for item in items) + 1),
    }


def summed_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The sum of the token losses of the labelled tokens (next-token prediction); `logits`
    may be those of the last positions only (`logits_to_keep`)."""
    shifted = logits[:, :-1, :].float()
    targets = labels[:, labels.shape[1] - logits.shape[1] + 1 :]
    return torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
