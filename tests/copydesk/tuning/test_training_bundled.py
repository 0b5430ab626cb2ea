"""Two LoRA steps on the real bundled model (SmolLM2-135M-Instruct): the shipped path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from copydesk.content.types import ContentType
from copydesk.generation.bundled import BUNDLED_MODEL_ID
from copydesk.tuning.base_model import resolve_base_model
from copydesk.tuning.examples import examples_from_references
from copydesk.tuning.hyperparameters import TuneSettings
from copydesk.tuning.training import tune
from tests.copydesk.tuning.conftest import reference_rows, write_references


@pytest.mark.slow
def test_two_lora_steps_on_the_bundled_model(
    restaurant: ContentType, model_cache: Path, tmp_path: Path
) -> None:
    examples = examples_from_references(
        write_references(tmp_path / "refs.csv", reference_rows()), restaurant
    ).examples
    base = resolve_base_model("bundled", model_cache)
    settings = TuneSettings(steps=2, batch_size=2, gradient_accumulation=1, min_examples=4)

    result = tune(base, examples, tmp_path / "run", settings)

    meta = result.metadata
    assert meta["base_model"]["id"] == BUNDLED_MODEL_ID
    assert meta["base_model"]["revision"] == base.revision
    assert all(math.isfinite(loss) for _, loss in meta["loss_curve"])
    weights = load_file(result.artifact / "adapter_model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.bfloat16}
    assert any(t.abs().sum() > 0 for name, t in weights.items() if "lora_B" in name)
    # r=16 on every linear layer of the 30 blocks: 4.9M parameters, ~9.8 MB in bf16
    assert 5e6 < meta["artifact"]["bytes"] < 15e6
