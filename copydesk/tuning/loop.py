"""The inner loop of a tune: one optimizer step at a time, and its throughput.

A step is `gradient_accumulation` forward/backward passes of `batch_size` examples; the
loss of each pass is its text tokens' summed loss over the whole step's text tokens, so
the step's gradient is the mean over its tokens however the examples were batched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from copydesk.tuning.batches import Encoded, collate, micro_batch_indices, summed_loss

if TYPE_CHECKING:
    from copydesk.tuning.hyperparameters import TuneSettings


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    loss: float
    learning_rate: float
    examples_per_s: float  # this process's steps only (not those of a resumed run)
    tokens_per_s: float
    elapsed_s: float


class TrainingLoop:
    """One optimizer step at a time, with its throughput."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        encoded: list[Encoded],
        settings: TuneSettings,
        where: tuple[str, torch.dtype],
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.encoded, self.settings = encoded, settings
        self.device, self.dtype = where
        self.pad_id = 0
        self.examples = self.tokens = 0
        self.seconds = 0.0
        self.started = time.perf_counter()

    def step(self, step: int) -> float:
        begun = time.perf_counter()
        accumulation, size = self.settings.gradient_accumulation, self.settings.batch_size
        batches = [
            [
                self.encoded[i]
                for i in micro_batch_indices(len(self.encoded), size, self.settings.seed, index)
            ]
            for index in range(step * accumulation, (step + 1) * accumulation)
        ]
        text_tokens = sum(item.completion_tokens for batch in batches for item in batch)
        total = 0.0
        autocast = torch.autocast(
            self.device.split(":")[0], dtype=self.dtype, enabled=self.dtype != torch.float32
        )
        for batch in batches:
            tensors = {k: v.to(self.device) for k, v in collate(batch, self.pad_id).items()}
            with autocast:
                logits = self.model(
                    input_ids=tensors["input_ids"],
                    attention_mask=tensors["attention_mask"],
                    position_ids=tensors["position_ids"],
                    logits_to_keep=int(tensors["keep"]),
                ).logits
            loss = summed_loss(logits, tensors["labels"]) / text_tokens
            loss.backward()  # type: ignore[no-untyped-call]
            total += float(loss.detach())
            self.tokens += int(tensors["attention_mask"].sum())
        params = [p for p in self.model.parameters() if p.requires_grad]
        torch.nn.utils.clip_grad_norm_(params, self.settings.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.examples += sum(len(batch) for batch in batches)
        self.seconds += time.perf_counter() - begun
        return total

    def throughput(self) -> dict[str, float]:
        seconds = self.seconds or 1e-9
        return {
            "examples": self.examples,
            "tokens": self.tokens,
            "train_s": round(self.seconds, 2),
            "examples_per_s": round(self.examples / seconds, 3),
            "tokens_per_s": round(self.tokens / seconds, 1),
        }

    def progress(self, step: int, loss: float) -> Progress:
        rate = self.throughput()
        return Progress(
            step,
            self.settings.steps,
            loss,
            float(self.scheduler.get_last_lr()[0]),
            rate["examples_per_s"],
            rate["tokens_per_s"],
            time.perf_counter() - self.started,
        )
