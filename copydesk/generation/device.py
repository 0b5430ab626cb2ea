"""Where models run: device auto-selection and the dtype that suits it."""

from __future__ import annotations

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def select_device(preferred: str | None = None) -> str:
    """`preferred` if given (and not "auto"), else the best available: cuda, mps, cpu."""
    if preferred and preferred != "auto":
        return preferred
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def select_dtype(device: str, preferred: str | None = None) -> torch.dtype:
    """`preferred` if given, else half precision on GPUs (bf16 where supported), fp32 elsewhere."""
    if preferred and preferred != "auto":
        if preferred not in DTYPES:
            raise ValueError(f"unknown dtype {preferred!r}; choose one of {', '.join(DTYPES)}")
        return DTYPES[preferred]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
