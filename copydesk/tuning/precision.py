"""The dtype a model computes in: bf16 where the device does it natively, else fp32.

- CUDA: bf16 where the GPU supports it, else fp32 for training (fp16 without a loss
  scaler is not safe for training).
- CPU: bf16 when the CPU has native bf16 instructions (`generation.device`, which
  generation's `auto` uses too).
- anything else (mps, CPUs without bf16): fp32.

Training keeps its weights in fp32 and computes under `torch.autocast` in the chosen
dtype; generation may load the weights in it directly.
"""

from __future__ import annotations

import torch

from copydesk.generation.device import cpu_has_native_bf16

CHOICES = ("auto", "bfloat16", "float32")


def compute_dtype(device: str, preferred: str | None = "auto") -> torch.dtype:
    """The dtype to compute in on `device`: `preferred` (bfloat16 / float32), or for `auto`
    (or None) bf16 where native, fp32 elsewhere."""
    if preferred not in (None, *CHOICES):
        raise ValueError(f"unknown dtype {preferred!r}; choose one of {', '.join(CHOICES)}")
    if preferred == "float32":
        return torch.float32
    if preferred == "bfloat16":
        return torch.bfloat16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32
