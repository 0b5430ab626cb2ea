"""`tune` and the tuned model's generation on CUDA (skipped where no CUDA device is
present: this project's CI machine has none; run it on a GPU machine with
`pytest -m gpu`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from copydesk.content.types import ContentType
from copydesk.tuning.base_model import BaseModelRef
from copydesk.tuning.evaluation import eval_inputs, first_attempts, load_generator
from copydesk.tuning.examples import Example, examples_from_references
from copydesk.tuning.hyperparameters import TuneSettings
from copydesk.tuning.training import tune
from tests.copydesk.tuning.conftest import reference_rows, write_references
from tests.copydesk.tuning.test_training import FAST

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.fixture
def examples(restaurant: ContentType, tmp_path: Path) -> list[Example]:
    path = write_references(tmp_path / "refs.csv", reference_rows())
    return examples_from_references(path, restaurant).examples


def test_tune_on_cuda_in_bf16_then_generate_with_the_adapter(
    tiny_base: BaseModelRef, examples: list[Example], restaurant: ContentType, tmp_path: Path
) -> None:
    settings = TuneSettings(**{**FAST.__dict__, "steps": 8, "lora_dropout": 0.0, "dtype": "auto"})
    result = tune(tiny_base, examples[:4], tmp_path / "run", settings)

    meta = result.metadata
    assert meta["device"] == "cuda"  # chosen by default when present
    assert meta["dtype"] == ("bfloat16" if torch.cuda.is_bf16_supported() else "float32")
    losses = [loss for _, loss in meta["loss_curve"]]
    assert losses[-1] < losses[0], losses
    assert meta["throughput"]["examples"] == 8 * 4

    tuned = load_generator(tiny_base, result.artifact, batch_size=2)
    assert tuned.identity.device == "cuda"
    inputs = eval_inputs(examples, limit=2)
    texts = first_attempts(tuned, restaurant, inputs)
    assert len(texts) == 2 and first_attempts(tuned, restaurant, inputs) == texts
