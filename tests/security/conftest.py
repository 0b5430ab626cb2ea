"""The review desk of tests/copydesk/review/, for the security tests of the web app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.copydesk.review.conftest import ReviewDesk, make_desk


@pytest.fixture
def cheap_secret_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, with the cheapest parameters."""
    import copydesk.desk.editors

    monkeypatch.setattr(
        copydesk.desk.editors,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture
def desk(database_url: str, tmp_path: Path, cheap_secret_hashing: None) -> Iterator[ReviewDesk]:
    made = make_desk(database_url, tmp_path)
    yield made
    made.app.state.desk.regenerator.shutdown()
