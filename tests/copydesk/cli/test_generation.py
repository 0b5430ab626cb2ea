"""`copydesk generate` and `copydesk models` as a user runs them, with the real bundled model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copydesk.generation.device import select_dtype
from tests.copydesk.cli.test_main import copydesk

pytestmark = pytest.mark.slow


def test_generate_prints_texts_with_timing(model_cache: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Name a colour.\n\nName a fruit.\n")
    env = {"COPYDESK_MODEL_CACHE": str(model_cache)}

    result = copydesk(
        "generate", "--file", str(prompts), "--max-new-tokens", "8", "--json", env=env
    )

    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["prompt"] for row in rows] == ["Name a colour.", "Name a fruit."]
    assert all(row["text"] and 0 < row["tokens_out"] <= 8 for row in rows)
    dtype = str(select_dtype("cpu")).removeprefix("torch.")  # bf16 on CPUs that do it natively
    assert "tok/s" in result.stderr and f"SmolLM2-135M-Instruct on cpu ({dtype})" in result.stderr


def test_generate_needs_a_prompt() -> None:
    result = copydesk("generate")
    assert result.returncode == 1
    assert result.stderr.startswith("error: give a prompt or --file")


def test_models_lists_weights_and_sha256(model_cache: Path) -> None:
    result = copydesk("models", env={"COPYDESK_MODEL_CACHE": str(model_cache)})
    assert result.returncode == 0, result.stderr
    assert "HuggingFaceTB/SmolLM2-135M-Instruct (bundled)" in result.stdout
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in result.stdout
    assert "sha256:" in result.stdout and f"converted copy in {model_cache}" in result.stdout
    assert "image  off" in result.stdout
