"""How a tune runs: the method (LoRA or full), LoRA's rank and targets, the optimiser, the
schedule, batching, precision, checkpoints and the held-out split; recorded with every
model version."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class TuneSettings:
    method: Literal["lora", "full"] = "lora"
    steps: int = 60  # optimizer steps
    batch_size: int = 4  # examples per forward pass
    gradient_accumulation: int = 4  # forward passes per optimizer step
    learning_rate: float | None = None  # default: 2e-4 for LoRA, 2e-5 for full
    warmup_steps: int | None = None  # default: a tenth of the steps
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    max_length: int = 512  # tokens of prompt and text; longer examples are left out
    seed: int = 0
    device: str | None = None  # default: cuda, mps or cpu
    dtype: str = "auto"  # auto (bf16 where native), bfloat16, float32
    checkpoint_every: int = 20
    min_examples: int = 8

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "gradient_accumulation", "lora_r", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def lr(self) -> float:
        default = 2e-4 if self.method == "lora" else 2e-5
        return self.learning_rate if self.learning_rate is not None else default

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else self.steps // 10

    def fingerprint_fields(self) -> dict[str, Any]:
        """What a resumed run must share with the interrupted one (not where it runs)."""
        fields = asdict(self)
        for name in ("device", "checkpoint_every", "min_examples"):
            fields.pop(name)
        return fields | {"target_modules": _as_json(self.target_modules)}


def _as_json(value: str | tuple[str, ...]) -> str | list[str]:
    return value if isinstance(value, str) else list(value)
