from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copydesk.settings import REPO_ROOT
from db import migrate
from tests.support.fake_generator import FakeGenerator


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API (SQLite) for the whole session (~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def database(isolated_settings: Path) -> str:
    from copydesk.settings import get_settings

    url = get_settings().resolved_database_url
    migrate.upgrade(url)
    return url


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeGenerator:
    """Route the pipeline's text generation to a fake (for tests about the pipeline)."""
    generator = FakeGenerator()
    import tasks.generate
    import tasks.refine

    asked: list[int | None] = []  # the model version each task asked a generator for

    def text_generator(model_version_id: int | None = None) -> FakeGenerator:
        asked.append(model_version_id)
        return generator

    generator.versions_asked = asked  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks.generate, "text_generator", text_generator)
    monkeypatch.setattr(tasks.refine, "text_generator", text_generator)
    return generator


SAMPLES = REPO_ROOT / "templates"
