"""Training a tiny Llama (built from a config, seeded): what changes, checkpoints and
resume, the saved adapter's round trip, the clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from copydesk.content.types import ContentType
from copydesk.tuning.base_model import BaseModelRef, check_fits, load_causal_lm, resolve_base_model
from copydesk.tuning.batches import (
    IGNORE,
    collate,
    encode_examples,
    render_chat_prompt,
    summed_loss,
)
from copydesk.tuning.errors import (
    BaseModelError,
    CheckpointError,
    TooFewExamplesError,
    TuningError,
)
from copydesk.tuning.examples import Example, examples_from_references
from copydesk.tuning.hyperparameters import TuneSettings
from copydesk.tuning.loop import Progress
from copydesk.tuning.training import tune
from tests.copydesk.tuning.conftest import reference_rows, write_references

FAST = TuneSettings(
    steps=4,
    batch_size=2,
    gradient_accumulation=2,
    learning_rate=2e-2,
    lora_dropout=0.1,  # randomness a resume must restore
    checkpoint_every=1,
    min_examples=4,
    max_length=256,
    dtype="float32",
)


class Interrupted(Exception):
    pass


@pytest.fixture
def examples(restaurant: ContentType, tmp_path: Path) -> list[Example]:
    path = write_references(tmp_path / "refs.csv", reference_rows())
    return examples_from_references(path, restaurant).examples


def test_only_the_text_tokens_carry_labels(bundled_tokenizer: Any, examples: list[Example]) -> None:
    encoded, too_long = encode_examples(bundled_tokenizer, examples[:2], max_length=256)

    assert too_long == 0
    first = encoded[0]
    rendered = render_chat_prompt(bundled_tokenizer, examples[0].prompt)
    assert rendered.endswith("<|im_start|>assistant\n")  # the generation prompt, as at run time
    prompt_ids = bundled_tokenizer(rendered, add_special_tokens=False).input_ids
    assert first.input_ids[: first.prompt_tokens] == prompt_ids
    assert first.input_ids[-1] == bundled_tokenizer.eos_token_id  # what ends a generation
    text = bundled_tokenizer.decode(first.input_ids[first.prompt_tokens : -1])
    assert text == examples[0].completion
    batch = collate(encoded, pad_id=bundled_tokenizer.pad_token_id)
    labels, mask = batch["labels"], batch["attention_mask"]
    for row, item in enumerate(encoded):  # left-padded, as generation pads
        assert batch["input_ids"][row][mask[row] == 1].tolist() == item.input_ids
        real = labels[row][mask[row] == 1].tolist()
        assert real[: item.prompt_tokens] == [IGNORE] * item.prompt_tokens
        assert real[item.prompt_tokens :] == item.input_ids[item.prompt_tokens :]
        assert batch["position_ids"][row][mask[row] == 1].tolist() == list(range(len(real)))
    assert (labels[mask == 0] == IGNORE).all()  # padding never counts
    assert int(batch["keep"]) == max(item.completion_tokens for item in encoded) + 1
    _, left_out = encode_examples(bundled_tokenizer, examples[:2], max_length=20)
    assert left_out == 2


def test_the_loss_needs_only_the_logits_of_the_texts(
    tiny_base: BaseModelRef, examples: list[Example]
) -> None:
    model, tokenizer = load_causal_lm(tiny_base.folder)
    batch = collate(encode_examples(tokenizer, examples[:3], 256)[0], tokenizer.pad_token_id)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
    with torch.no_grad():
        every = model(**inputs).logits
        kept = model(**inputs, logits_to_keep=int(batch["keep"])).logits
    assert kept.shape[1] < every.shape[1] / 2  # the prompts are most of the tokens
    texts = int((batch["labels"] != IGNORE).sum())
    reference = torch.nn.functional.cross_entropy(
        every[:, :-1].reshape(-1, every.shape[-1]),
        batch["labels"][:, 1:].reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    assert summed_loss(kept, batch["labels"]) == pytest.approx(float(reference), rel=1e-5)
    assert texts == sum(
        e.completion_tokens for e in encode_examples(tokenizer, examples[:3], 256)[0]
    )


def test_training_changes_the_adapter_and_lowers_the_loss(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    seen: list[Progress] = []
    settings = TuneSettings(**{**FAST.__dict__, "steps": 8, "lora_dropout": 0.0})
    result = tune(tiny_base, examples[:4], tmp_path / "run", settings, on_step=seen.append)

    assert [p.step for p in seen] == list(range(1, 9))
    losses = [loss for _, loss in result.metadata["loss_curve"]]
    assert losses[-1] < losses[0] - 1, losses  # the same four examples, again and again
    weights = load_file(result.artifact / "adapter_model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.bfloat16}
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)  # peft starts B at zero
    config = json.loads((result.artifact / "adapter_config.json").read_text())
    assert config["r"] == 16 and config["base_model_name_or_path"] == tiny_base.model_id
    assert {m.rsplit(".", 1)[-1] for m in config["target_modules"]} == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }  # every linear layer but the output head
    meta = result.metadata
    assert result.sha256 == meta["artifact"]["sha256"]
    assert meta["base_model"]["revision"] == tiny_base.revision
    assert meta["data"]["examples"] == 4 and meta["data"]["by_author"] == {"reference": 4}
    assert meta["throughput"]["examples"] == 8 * 4
    assert set(meta["library_versions"]) >= {"torch", "transformers", "peft"}
    assert json.loads((tmp_path / "run" / "tune.json").read_text()) == meta


def test_a_resumed_run_continues_from_its_checkpoint(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    whole = tune(tiny_base, examples, tmp_path / "whole", FAST)

    def stop_after_two(progress: Progress) -> None:
        if progress.step == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        tune(tiny_base, examples, tmp_path / "cut", FAST, on_step=stop_after_two)
    assert not (tmp_path / "cut" / "adapter").exists()
    with pytest.raises(TuningError, match="holds a checkpoint"):
        tune(tiny_base, examples, tmp_path / "cut", FAST)  # nothing is overwritten
    steps: list[int] = []
    resumed = tune(
        tiny_base,
        examples,
        tmp_path / "cut",
        FAST,
        resume=True,
        on_step=lambda p: steps.append(p.step),
    )

    assert steps == [3, 4]
    assert resumed.metadata["resumed_from_step"] == 2
    assert [s for s, _ in resumed.metadata["loss_curve"]] == [1, 2, 3, 4]
    # the same batches, dropout draws and optimizer state as the uninterrupted run
    resumed_losses = [loss for _, loss in resumed.metadata["loss_curve"]]
    assert resumed_losses == pytest.approx([loss for _, loss in whole.metadata["loss_curve"]])
    a = load_file(whole.artifact / "adapter_model.safetensors")
    b = load_file(resumed.artifact / "adapter_model.safetensors")
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-2) for k in a)


def test_a_checkpoint_of_other_data_is_refused(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    with pytest.raises(Interrupted):
        tune(tiny_base, examples, tmp_path / "run", FAST, on_step=_interrupt)
    with pytest.raises(CheckpointError, match="other data or settings"):
        tune(tiny_base, examples[:-1], tmp_path / "run", FAST, resume=True)


def _interrupt(progress: Progress) -> None:
    raise Interrupted


def test_the_saved_adapter_gives_the_trained_model_back(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    from peft import PeftModel, get_peft_model_state_dict

    result = tune(tiny_base, examples, tmp_path / "run", FAST)
    tokenizer = load_causal_lm(tiny_base.folder)[1]
    batch = collate(encode_examples(tokenizer, examples[:3], 256)[0], tokenizer.pad_token_id)

    def logits(model: Any) -> torch.Tensor:
        with torch.no_grad():
            inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
            return model.eval()(**inputs).logits

    loaded = PeftModel.from_pretrained(load_causal_lm(tiny_base.folder)[0], result.artifact)
    # the trained weights (fp32, the last checkpoint) rounded to bf16, as the adapter stores them
    trained = PeftModel.from_pretrained(load_causal_lm(tiny_base.folder)[0], result.artifact)
    checkpoint = load_file(tmp_path / "run" / "checkpoint" / "trainable.safetensors")
    trained.load_state_dict(
        {k: v.to(torch.bfloat16).float() for k, v in checkpoint.items()}, strict=False
    )
    assert torch.allclose(logits(loaded), logits(trained), atol=1e-5)
    saved = get_peft_model_state_dict(loaded)
    assert saved and all(torch.count_nonzero(v) for k, v in saved.items() if "lora_B" in k)
    base_logits = logits(load_causal_lm(tiny_base.folder)[0])
    assert not torch.allclose(logits(loaded), base_logits, atol=1e-3)


def test_full_fine_tuning_saves_a_bf16_model(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    settings = TuneSettings(**{**FAST.__dict__, "method": "full", "steps": 2})
    result = tune(tiny_base, examples, tmp_path / "run", settings)

    assert result.artifact.name == "model"
    weights = load_file(result.artifact / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.bfloat16}
    model, tokenizer = load_causal_lm(result.artifact)  # a model folder, tokenizer included
    assert model.config.model_type == "llama" and tokenizer.chat_template
    assert result.metadata["method"] == "full"


def test_too_few_examples_is_a_clear_error(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    with pytest.raises(TooFewExamplesError, match="3 examples, and a tune needs at least 4"):
        tune(tiny_base, examples[:3], tmp_path / "run", FAST)
    too_long = TuneSettings(**{**FAST.__dict__, "max_length": 20})
    with pytest.raises(TooFewExamplesError, match="0 examples fit in 20 tokens"):
        tune(tiny_base, examples, tmp_path / "run", too_long)


def test_a_base_model_that_cannot_be_tuned_is_a_clear_error(
    tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    with pytest.raises(BaseModelError, match=r"no config\.json"):
        resolve_base_model(str(tmp_path), tmp_path / "cache")
    from transformers import DistilBertConfig, DistilBertModel

    encoder = tmp_path / "encoder"  # an encoder, with the tokenizer of a causal LM beside it
    tiny = DistilBertConfig(dim=16, n_layers=1, n_heads=2, hidden_dim=32)
    DistilBertModel(tiny).save_pretrained(encoder)
    load_causal_lm(tiny_base.folder)[1].save_pretrained(encoder)
    ref = resolve_base_model(str(encoder), tmp_path / "cache")
    with pytest.raises(BaseModelError, match="cannot be loaded as a causal language model"):
        tune(ref, examples, tmp_path / "run", FAST)
    with pytest.raises(BaseModelError, match=r"135M parameters, full\) needs about 2.5 GiB"):
        check_fits(135_000_000, "full", "cpu", available=1 << 30)
    assert check_fits(135_000_000, "lora", "cpu", available=8 << 30) < 1 << 30
