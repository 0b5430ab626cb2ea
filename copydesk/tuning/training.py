"""Fine-tune a causal LM on examples: peft LoRA (all linear layers, r=16) or full.

A plain torch loop, in the libraries' own idioms (`LoraConfig` / `get_peft_model`,
`save_pretrained`): AdamW, linear warm-up then linear decay, gradient accumulation
(one optimizer step = `batch_size * gradient_accumulation` examples, the loss summed
over the step's text tokens and divided by their number), gradient clipping, and
`torch.autocast` in bf16 where the device computes it natively (`precision`); the
weights stay fp32. Checkpoints every `checkpoint_every` steps; `resume=True` continues
an interrupted run from its checkpoint, with the same batches it would have seen."""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from copydesk.generation.device import dtype_name, select_device
from copydesk.hashing import sha256_json
from copydesk.tuning import artifacts
from copydesk.tuning.base_model import BaseModelRef, check_fits, count_parameters, load_causal_lm
from copydesk.tuning.batches import Encoded, encode_examples
from copydesk.tuning.errors import NoTrainingDataError, TooFewExamplesError, TuningError
from copydesk.tuning.examples import Example, data_digest
from copydesk.tuning.hyperparameters import TuneSettings
from copydesk.tuning.loop import Progress, TrainingLoop
from copydesk.tuning.precision import compute_dtype

LIBRARIES = ("torch", "transformers", "peft", "tokenizers", "safetensors")


@dataclass(frozen=True)
class TuneResult:
    artifact: Path  # the adapter folder (or the model folder of a full fine-tune)
    sha256: str
    metadata: dict[str, Any]


def tune(
    base: BaseModelRef,
    examples: Sequence[Example],
    run_dir: Path,
    settings: TuneSettings | None = None,
    *,
    resume: bool = False,
    on_step: Callable[[Progress], None] | None = None,
) -> TuneResult:
    """Train on `examples` into `run_dir` (checkpoints, artifact, `tune.json`)."""
    settings = settings or TuneSettings()
    _check_examples(examples, settings)
    checkpoint = artifacts.find_checkpoint(run_dir)
    if checkpoint is not None and not resume:
        raise TuningError(
            f"{run_dir} holds a checkpoint of an earlier run: resume it, or use a new folder"
        )
    device = select_device(settings.device)
    dtype = compute_dtype(device, settings.dtype)
    check_fits(count_parameters(base.folder), settings.method, device)
    started = time.perf_counter()
    model, tokenizer, encoded, too_long = _prepare(base, examples, settings)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(settings))
    digest = data_digest(examples)
    fingerprint = sha256_json(
        {"data": digest, "base": base.revision, "settings": settings.fingerprint_fields()}
    )
    start_step, losses = 0, []
    if checkpoint is not None:
        state = artifacts.load_checkpoint(checkpoint, model, optimizer, scheduler, fingerprint)
        start_step, losses = int(state["step"]), list(state["losses"])
    run_dir.mkdir(parents=True, exist_ok=True)
    loop = TrainingLoop(model, optimizer, scheduler, encoded, settings, (device, dtype))
    loop.pad_id = int(tokenizer.pad_token_id)
    for step in range(start_step, settings.steps):
        losses.append([step + 1, loop.step(step)])
        if (step + 1) % settings.checkpoint_every == 0 or step + 1 == settings.steps:
            state = {"step": step + 1, "losses": losses, "fingerprint": fingerprint}
            artifacts.save_checkpoint(run_dir, model, optimizer, scheduler, state)
        if on_step is not None:
            on_step(loop.progress(step + 1, losses[-1][1]))
    folder = run_dir / ("model" if settings.method == "full" else "adapter")
    artifact = artifacts.save_artifact(
        model, tokenizer, folder, full=settings.method == "full", base_model_id=base.model_id
    )
    data = {
        "digest": digest,
        "examples": len(examples),
        "trained_examples": len(encoded),
        "too_long": too_long,
        "inputs": len({e.input_key for e in examples}),
        "by_author": dict(sorted(Counter(e.author for e in examples).items())),
        "tokens": sum(len(e.input_ids) for e in encoded),
    }
    meta = {
        "base_model": base.as_dict(),
        "method": settings.method,
        "data": data,
        "settings": settings.fingerprint_fields() | {"learning_rate": settings.lr},
        "device": device,
        "dtype": dtype_name(dtype),
        "library_versions": {name: metadata.version(name) for name in LIBRARIES},
        "steps": settings.steps,
        "resumed_from_step": start_step or None,
        "duration_s": round(time.perf_counter() - started, 2),
        "throughput": loop.throughput(),
        "loss_curve": losses,
        "artifact": artifact,
    }
    (run_dir / "tune.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return TuneResult(folder, artifact["sha256"], meta)


def _prepare(
    base: BaseModelRef, examples: Sequence[Example], settings: TuneSettings
) -> tuple[Any, Any, list[Encoded], int]:
    """The model to train (seeded; with LoRA layers unless full), its tokenizer, and the
    examples as tokens (and how many were too long)."""
    torch.manual_seed(settings.seed)
    model, tokenizer = load_causal_lm(base.folder)
    encoded, too_long = encode_examples(tokenizer, examples, settings.max_length)
    if len(encoded) < settings.min_examples:
        raise TooFewExamplesError(
            f"{len(encoded)} examples fit in {settings.max_length} tokens ({too_long} longer), "
            f"and a tune needs at least {settings.min_examples}: raise max_length or add data"
        )
    if settings.method == "lora":
        model = _with_lora(model, settings)
    return model, tokenizer, encoded, too_long


def _check_examples(examples: Sequence[Example], settings: TuneSettings) -> None:
    if not examples:
        raise NoTrainingDataError(
            "there is nothing to train on: no approved sections (or reference rows) matched; "
            "approve some items, widen the filters, or give a reference file"
        )
    if len(examples) < settings.min_examples:
        raise TooFewExamplesError(
            f"{len(examples)} examples, and a tune needs at least {settings.min_examples}: "
            "approve more items or add references"
        )


def _with_lora(model: Any, settings: TuneSettings) -> Any:
    from peft import LoraConfig, get_peft_model

    targets = settings.target_modules
    config = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():  # peft asks transformers 5 a deprecated question
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        return get_peft_model(model, config)


def _schedule(settings: TuneSettings) -> Callable[[int], float]:
    warmup, steps = settings.warmup, settings.steps

    def factor(step: int) -> float:  # linear warm-up, then linear decay to a tenth
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.1, 1 - 0.9 * (step - warmup) / max(1, steps - warmup))

    return factor
