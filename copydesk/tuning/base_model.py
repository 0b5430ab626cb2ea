"""The base model of a tune: the bundled model or a local folder, checked before loading.

A tune refuses, with a message that says what to do, a folder that is not a
transformers causal LM and a model whose training would not fit in the device's free
memory (counted from the weights files' headers before anything is loaded).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from copydesk.generation.bundled import BUNDLED_MODEL_ID, prepare_bundled_model
from copydesk.generation.hf_text import weights_sha256
from copydesk.tuning.errors import BaseModelError

# Bytes per parameter while training, weights in fp32: LoRA keeps the base frozen (its
# weights, plus activations); full fine-tuning adds gradients and AdamW's two moments.
BYTES_PER_PARAMETER = {"lora": 4 * 1.5, "full": 4 * 4 * 1.25}
_MEMINFO = re.compile(r"^MemAvailable:\s+(\d+) kB", re.MULTILINE)


@dataclass(frozen=True)
class BaseModelRef:
    folder: Path
    model_id: str
    revision: str  # the bundled GGUF's sha256, or the folder's weights digest

    def as_dict(self) -> dict[str, str]:
        return {"id": self.model_id, "revision": self.revision, "folder": str(self.folder)}


def resolve_base_model(spec: str, cache_root: Path) -> BaseModelRef:
    """`bundled` (converted once into `cache_root`) or a local transformers model folder."""
    if spec == "bundled":
        bundled = prepare_bundled_model(cache_root)
        return BaseModelRef(bundled.folder, BUNDLED_MODEL_ID, bundled.sha256)
    folder = Path(spec).expanduser()
    config = folder / "config.json"
    if not config.is_file():
        raise BaseModelError(
            f"{folder} is not a transformers model folder (no config.json): give `bundled` "
            "or a local folder of a causal LM"
        )
    try:
        revision = weights_sha256(folder)
    except Exception as exc:  # ConfigurationError: no weights files
        raise BaseModelError(str(exc)) from exc
    return BaseModelRef(folder, folder.name, revision)


def count_parameters(folder: Path) -> int:
    """Parameters in the folder's safetensors files (read from their headers), else
    estimated from the size of its other weights files (4 bytes each)."""
    total = 0
    for path in sorted(folder.glob("*.safetensors")):
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size))
        for name, info in header.items():
            if name != "__metadata__":
                count = 1
                for dim in info["shape"]:
                    count *= dim
                total += count
    if total:
        return total
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".bin", ".pt")) // 4


def available_memory(device: str) -> int:
    """Free bytes on `device`: CUDA's free memory, else the system's available memory."""
    if device.startswith("cuda"):
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return 1 << 62  # unknown: do not refuse
    match = _MEMINFO.search(meminfo)
    return int(match.group(1)) * 1024 if match else 1 << 62


def check_fits(parameters: int, method: str, device: str, available: int | None = None) -> int:
    """The bytes a tune needs; BaseModelError when more than the device has free."""
    needed = int(parameters * BYTES_PER_PARAMETER[method])
    free = available_memory(device) if available is None else available
    if needed > free:
        gib = 1 << 30
        hint = "use LoRA (not full fine-tuning), " if method == "full" else ""
        raise BaseModelError(
            f"training this model ({parameters / 1e6:.0f}M parameters, {method}) needs about "
            f"{needed / gib:.1f} GiB on {device}, and {free / gib:.1f} GiB are free: "
            f"{hint}a smaller model, or a device with more memory"
        )
    return needed


def load_causal_lm(folder: Path) -> tuple[Any, Any]:
    """Model (fp32, train mode) and tokenizer from a local folder; the Hub is never asked."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the tune shows its own progress
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)  # nosec B615
        model = AutoModelForCausalLM.from_pretrained(  # nosec B615
            folder, dtype=torch.float32, local_files_only=True
        )
    except (ValueError, OSError, KeyError) as exc:
        raise BaseModelError(
            f"{folder} cannot be loaded as a causal language model: {exc}"
        ) from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
