from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.generation.bundled import BundledModel, prepare_bundled_model


@pytest.fixture(scope="session")
def bundled_conversions(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BundledModel, BundledModel]:
    """The bundled GGUF converted into an empty cache (first), then loaded again (second)."""
    cache = tmp_path_factory.mktemp("model-cache")
    return prepare_bundled_model(cache), prepare_bundled_model(cache)


@pytest.fixture(scope="session")
def model_cache(bundled_conversions: tuple[BundledModel, BundledModel]) -> Path:
    return bundled_conversions[0].folder.parent
