"""The compute dtype: bf16 where the CPU (or GPU) does it natively, fp32 selectable."""

from __future__ import annotations

import pytest
import torch

from copydesk.tuning import precision


def test_auto_chooses_bf16_only_where_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda flags=None: True)
    assert precision.compute_dtype("cpu", "auto") == torch.bfloat16
    assert precision.compute_dtype("cpu", None) == torch.bfloat16
    assert precision.compute_dtype("cpu", "float32") == torch.float32
    assert precision.compute_dtype("mps", "auto") == torch.float32
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda flags=None: False)
    assert precision.compute_dtype("cpu", "auto") == torch.float32
    assert precision.compute_dtype("cpu", "bfloat16") == torch.bfloat16


def test_an_unknown_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        precision.compute_dtype("cpu", "float8")
