"""Device and dtype selection: bf16 for text where the CPU computes it natively."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from copydesk.generation import device


def test_cpu_flags_decide_native_bf16(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\n")
    assert "avx512_bf16" in device.cpu_flags.__wrapped__(cpuinfo)
    assert device.cpu_has_native_bf16(frozenset({"avx512f", "avx512_bf16"}))
    assert device.cpu_has_native_bf16(frozenset({"amx_bf16", "amx_tile"}))
    assert not device.cpu_has_native_bf16(frozenset({"avx2", "avx512f"}))


def test_auto_text_dtype_on_cpu_is_bf16_only_where_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda flags=None: True)
    assert device.select_dtype("cpu") == torch.bfloat16
    assert device.select_dtype("cpu", "auto") == torch.bfloat16
    assert device.select_dtype("cpu", "float32") == torch.float32
    assert device.select_dtype("mps") == torch.float16
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda flags=None: False)
    assert device.select_dtype("cpu") == torch.float32
    assert device.select_dtype("cpu", "bfloat16") == torch.bfloat16


def test_an_unknown_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        device.select_dtype("cpu", "float8")
