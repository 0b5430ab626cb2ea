"""A tiny causal LM built from a config (seeded) with the bundled model's tokenizer, and
small E2E-style reference files: fast enough to train in a test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copydesk.content.types import ContentType, load_content_type
from copydesk.settings import Settings, get_settings
from copydesk.tuning.base_model import BaseModelRef, resolve_base_model
from copydesk.tuning.hyperparameters import TuneSettings
from db import migrate

# Two quick LoRA steps on a tiny model: what tests of versions and the closed loop train.
TWO_STEPS = TuneSettings(
    steps=2,
    batch_size=2,
    gradient_accumulation=1,
    learning_rate=2e-2,
    min_examples=2,
    max_length=256,
    dtype="float32",
    lora_r=4,
    lora_alpha=8,
)

ROOT = Path(__file__).resolve().parents[3]

MRS = [
    "name[Alimentum], area[city centre], familyFriendly[no]",
    "name[Aromi], eatType[coffee shop], food[Chinese], area[riverside]",
    "name[Blue Spice], eatType[pub], priceRange[cheap], near[Burger King]",
    "name[Cotto], eatType[restaurant], customer rating[5 out of 5], area[city centre]",
    "name[Clowns], eatType[coffee shop], food[French], familyFriendly[yes]",
    "name[Zizzi], eatType[pub], area[riverside], near[The Sorrento]",
]


def reference_rows() -> list[tuple[str, str]]:
    """Two references for each of the six MRs (12 rows)."""
    rows = []
    for mr in MRS:
        name = mr.split("]")[0].removeprefix("name[")
        rows.append((mr, f"{name} is a nice place."))
        rows.append((mr, f"You will like {name}."))
    return rows


def write_references(path: Path, rows: list[tuple[str, str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mr", "ref"])
        writer.writerows(rows)
    return path


@pytest.fixture
def restaurant() -> ContentType:
    return load_content_type("restaurant", ROOT / "templates")


@pytest.fixture(scope="session")
def bundled_tokenizer() -> Any:
    """The bundled model's tokenizer (with its chat template), read from its GGUF file."""
    from transformers import AutoTokenizer

    from copydesk.generation.bundled import find_bundled_gguf

    gguf = find_bundled_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)  # nosec B615


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, bundled_tokenizer: Any) -> BaseModelRef:
    """A 2-layer Llama with 16-wide hidden states (seeded), saved as a model folder with
    the bundled tokenizer (so its vocabulary and chat template)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = bundled_tokenizer
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.3,  # peaked logits: a few LoRA steps visibly lower the loss
    )
    folder = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return resolve_base_model(str(folder), folder.parent / "cache")


@pytest.fixture
def settings(
    database_url: str, tiny_base: BaseModelRef, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a migrated database, the tiny model and a local store in tmp_path."""
    monkeypatch.setenv("COPYDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("COPYDESK_TEXT_MODEL", str(tiny_base.folder))
    monkeypatch.setenv("COPYDESK_STORE_PATH", str(tmp_path / "objects"))
    get_settings.cache_clear()
    migrate.upgrade(database_url)
    return get_settings()
