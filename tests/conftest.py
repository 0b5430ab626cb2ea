"""Shared fixtures: an isolated environment per test, and real servers per session.

The session starts one SeaweedFS S3 server and one PostgreSQL server on 127.0.0.1 in
temporary folders (tests/support/services.py) and stops them by pid at the end.
`database_url` runs a test on SQLite and on PostgreSQL; `store` on the local folder
store and on the S3 server. With COPYDESK_TEST_REQUIRE_SERVICES=1 (the test command
sets it) a server that fails to start fails the run instead of skipping tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from copydesk.generation.bundled import BundledModel, prepare_bundled_model
from copydesk.runtime import prepare_environment
from copydesk.settings import get_settings
from copydesk.storage import LocalStore, ObjectStore
from tests.support.services import PostgresServer, S3Server, start_postgres, start_s3_server


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="save the review desk's screenshots into DIR (`make screenshots`: docs/screenshots)",
    )


REQUIRE_SERVICES = os.environ.get("COPYDESK_TEST_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} could not be started: {exc}"
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own COPYDESK_HOME and working directory, and fresh settings."""
    for name in list(os.environ):
        if name.startswith("COPYDESK_") and name != "COPYDESK_TEST_REQUIRE_SERVICES":
            monkeypatch.delenv(name)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # `copydesk run` called in process quiets Prefect's console for its progress bar
    # (os.environ.setdefault); a later test, or a server it starts, must not inherit that.
    monkeypatch.delenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", raising=False)
    monkeypatch.delenv("PREFECT_LOGGING_LEVEL", raising=False)
    prepare_environment()
    home = tmp_path / "home"
    monkeypatch.setenv("COPYDESK_HOME", str(home))
    # The shipped model versions install themselves on a home's first batch; a test
    # about something else writes with the base model (tests/copydesk/tuning/test_shipped.py
    # and the quickstart test turn them on).
    monkeypatch.setenv("COPYDESK_SHIPPED_MODELS", "false")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    try:
        server = start_s3_server(tmp_path_factory.mktemp("s3"))
    except Exception as exc:
        _unavailable("the S3 server (SeaweedFS)", exc)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    try:
        server = start_postgres(tmp_path_factory.mktemp("pg"))
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    yield url
    from db.session import get_engine

    get_engine.cache_clear()  # release pooled connections before dropping
    server.drop_database(name)


def s3_env(server: S3Server, bucket: str) -> dict[str, str]:
    """Copydesk settings (as environment variables) that point at `server`."""
    return {
        "COPYDESK_STORE": "s3",
        "COPYDESK_S3_ENDPOINT": server.endpoint,
        "COPYDESK_S3_ACCESS_KEY": server.access_key,
        "COPYDESK_S3_SECRET_KEY": server.secret_key,
        "COPYDESK_S3_BUCKET": bucket,
    }


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ObjectStore:
    """An empty object store: a local folder, or a fresh bucket on the S3 server."""
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    from copydesk.storage.s3 import S3Store

    server: S3Server = request.getfixturevalue("s3_server")
    for name, value in s3_env(server, f"t-{uuid.uuid4().hex[:12]}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COPYDESK_S3_CREATE_BUCKET", "true")
    get_settings.cache_clear()
    s3_store = S3Store.from_settings(get_settings())
    s3_store.ensure_bucket()
    return s3_store


@pytest.fixture(scope="session")
def bundled_conversions(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BundledModel, BundledModel]:
    """The bundled GGUF converted into an empty cache (first), then loaded again (second)."""
    cache = tmp_path_factory.mktemp("model-cache")
    return prepare_bundled_model(cache), prepare_bundled_model(cache)


@pytest.fixture(scope="session")
def model_cache(bundled_conversions: tuple[BundledModel, BundledModel]) -> Path:
    """A model cache holding the converted bundled model (converted once per session)."""
    return bundled_conversions[0].folder.parent
