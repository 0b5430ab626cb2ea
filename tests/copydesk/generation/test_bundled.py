"""The bundled model's conversion: quiet on the terminal (Copydesk's own progress only)."""

from __future__ import annotations

import pytest

from copydesk.generation.bundled import _quiet_gguf_conversion


def test_the_gguf_readers_progress_bar_is_off_during_the_conversion_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = gguf_utils.tqdm
    with _quiet_gguf_conversion():
        for _ in gguf_utils.tqdm(range(3), desc="Converting and de-quantizing GGUF tensors..."):
            pass
    assert "Converting" not in capsys.readouterr().err
    assert gguf_utils.tqdm is original  # restored
    for _ in gguf_utils.tqdm(range(3), desc="Converting", mininterval=0):
        pass
    assert "Converting" in capsys.readouterr().err  # the test can see a bar when there is one
