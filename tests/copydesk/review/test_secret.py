"""The review desk's signing key on the embedded defaults and beyond."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from copydesk.errors import ConfigurationError
from copydesk.review.secret import SECRET_FILE, is_loopback, session_key
from copydesk.settings import Settings

SQLITE = "sqlite:///copydesk.db"


def test_on_the_defaults_a_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")  # no COPYDESK_ENV, no secret

    first = session_key(settings, database_url=SQLITE, host="127.0.0.1")
    again = session_key(settings, database_url=SQLITE, host="localhost")

    path = tmp_path / "home" / SECRET_FILE
    assert first == again == path.read_text().strip() and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("values", "url", "host", "reason"),
    [
        ({"env": "production"}, SQLITE, "127.0.0.1", "COPYDESK_ENV=production is set"),
        ({}, SQLITE, "0.0.0.0", "to serve the desk on 0.0.0.0"),  # noqa: S104 - the test
        ({}, "postgresql+psycopg://u@127.0.0.1/d", "127.0.0.1", "with a database server"),
        ({"review_secret": "short"}, SQLITE, "127.0.0.1", "the one set is too short"),
    ],
)
def test_beyond_one_machine_the_secret_is_required(
    tmp_path: Path, values: dict[str, str], url: str, host: str, reason: str
) -> None:
    settings = Settings(home=tmp_path, **values)  # type: ignore[arg-type]

    with pytest.raises(ConfigurationError, match="COPYDESK_REVIEW_SECRET") as error:
        session_key(settings, database_url=url, host=host)

    assert reason in str(error.value)
    assert not (tmp_path / SECRET_FILE).exists()


def test_a_set_secret_is_used_anywhere(tmp_path: Path) -> None:
    settings = Settings(env="production", home=tmp_path, review_secret="k" * 40)

    assert session_key(settings, database_url="postgresql://x", host="0.0.0.0") == "k" * 40  # noqa: S104


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.5", "example.org", "::"]))  # noqa: S104
