"""What a tune writes: checkpoints (to resume an interrupted run) and the final artifact.

A checkpoint holds the trainable weights (fp32 safetensors), the optimizer, scheduler
and random-number states, and `state.json` (step, loss curve, and the run's
fingerprint: a checkpoint of other data or settings is refused). It is written into a
staging folder and swapped in, so an interruption leaves the previous one whole.

The artifact is a peft adapter folder (`adapter_config.json`, `adapter_model.safetensors`
in bf16: a few MB for r=16 on a 135M model), or for a full fine-tune a model folder in
bf16; its digest is the sha256 of its files (names and contents).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from copydesk.hashing import sha256_file, sha256_json
from copydesk.tuning.errors import CheckpointError

CHECKPOINT, STAGING, PREVIOUS = "checkpoint", ".checkpoint-partial", ".checkpoint-previous"
WEIGHTS, OPTIMIZER, STATE = "trainable.safetensors", "optimizer.pt", "state.json"
ADAPTER_WEIGHTS, ADAPTER_CONFIG = "adapter_model.safetensors", "adapter_config.json"


def trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {
        name: param.detach().to("cpu", copy=True).contiguous()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def save_checkpoint(
    run_dir: Path, model: Any, optimizer: Any, scheduler: Any, state: dict[str, Any]
) -> Path:
    """Write the checkpoint of `state["step"]`, replacing the previous one atomically."""
    staging, final, previous = run_dir / STAGING, run_dir / CHECKPOINT, run_dir / PREVIOUS
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_file(trainable_state(model), staging / WEIGHTS)
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
        staging / OPTIMIZER,
    )
    (staging / STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def find_checkpoint(run_dir: Path) -> Path | None:
    """The run's checkpoint (or the previous one, when a swap was interrupted)."""
    for name in (CHECKPOINT, PREVIOUS):
        if (run_dir / name / STATE).is_file():
            return run_dir / name
    return None


def load_checkpoint(
    folder: Path, model: Any, optimizer: Any, scheduler: Any, fingerprint: str
) -> dict[str, Any]:
    """Restore a checkpoint into the model, optimizer and scheduler; its state."""
    try:
        state: dict[str, Any] = json.loads((folder / STATE).read_text(encoding="utf-8"))
        if state.get("fingerprint") != fingerprint:
            raise CheckpointError(
                f"the checkpoint in {folder.parent} is of a run with other data or settings: "
                "resume with the same ones, or start afresh (a new run folder, or no resume)"
            )
        weights = load_file(folder / WEIGHTS)
        saved = torch.load(folder / OPTIMIZER, weights_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"the checkpoint in {folder.parent} is unreadable: {exc}") from exc
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if set(weights) != trainable:
        raise CheckpointError(f"the checkpoint in {folder.parent} holds other weights")
    model.load_state_dict(weights, strict=False)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])
    if saved["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    return state


def save_artifact(
    model: Any, tokenizer: Any, folder: Path, *, full: bool, base_model_id: str
) -> dict[str, Any]:
    """The adapter (or the full model) in bf16 safetensors; its digest, files and size.

    The adapter's config names the base model by its id (not a local path) and lists its
    target modules sorted, so the same weights give the same digest; peft's generated
    README is left out (a tune's model card is written from its metadata)."""
    shutil.rmtree(folder, ignore_errors=True)
    if full:
        model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)
        model.float()
        tokenizer.save_pretrained(folder)
        return describe_artifact(folder)
    model.save_pretrained(folder, safe_serialization=True)
    tensors = load_file(folder / ADAPTER_WEIGHTS)
    halved = {name: t.to(torch.bfloat16).contiguous() for name, t in tensors.items()}
    save_file(halved, folder / ADAPTER_WEIGHTS, metadata={"format": "pt"})
    config_path = folder / ADAPTER_CONFIG
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_model_id
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "README.md").unlink(missing_ok=True)
    return describe_artifact(folder)


def describe_artifact(folder: Path) -> dict[str, Any]:
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}
    return {
        "sha256": sha256_json(files),
        "files": files,
        "bytes": sum(p.stat().st_size for p in folder.iterdir() if p.is_file()),
    }
