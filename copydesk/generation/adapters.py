"""A tuned model version on top of its base model: a peft LoRA adapter merged into the
base weights (as fast as the base model), or the model folder of a full fine-tune.

The folder given here is a local copy whose sha256 the caller has verified
(`copydesk.tuning.versions`); the Hub is never asked (a local folder, offline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Adapter:
    """A verified local copy of a model version's artifact."""

    folder: Path
    sha256: str
    method: Literal["lora", "full"] = "lora"
    model_version_id: int | None = None  # recorded on every generation it writes


def merge_adapter(model: Any, folder: Path) -> Any:
    """`model` with the LoRA adapter in `folder` merged into its weights (a plain
    transformers model again: generation runs at the base model's speed)."""
    import warnings

    from peft import PeftModel

    with warnings.catch_warnings():  # peft asks transformers 5 a deprecated question
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        merged = PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    return merged.merge_and_unload()
