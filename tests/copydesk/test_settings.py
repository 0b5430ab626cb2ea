from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.errors import ConfigurationError
from copydesk.settings import Settings, get_settings
from copydesk.storage import LocalStore, create_store


def test_defaults_live_under_copydesk_home(isolated_settings: Path) -> None:
    settings = get_settings()
    assert settings.resolved_database_url == f"sqlite:///{isolated_settings.resolve()}/copydesk.db"
    assert settings.resolved_store_path == (isolated_settings / "objects").resolve()
    assert settings.store == "local"
    assert settings.text_model == "bundled"
    assert settings.prefect_api_url is None
    assert isinstance(create_store(settings), LocalStore)


def test_environment_and_dotenv_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "COPYDESK_DATABASE_URL=postgresql+psycopg://u:p@db/copydesk\nCOPYDESK_CHUNK_SIZE=8\n"
    )
    monkeypatch.setenv("COPYDESK_CHUNK_SIZE", "16")  # the environment wins over .env
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u:p@db/copydesk"
    assert settings.chunk_size == 16
    assert settings.prefect_api_url == "http://127.0.0.1:4200/api"


def test_well_known_s3_credentials_are_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COPYDESK_STORE", "s3")
    monkeypatch.setenv("COPYDESK_S3_ACCESS_KEY", "minioadmin")
    monkeypatch.setenv("COPYDESK_S3_SECRET_KEY", "minioadmin")
    with pytest.raises(ConfigurationError, match="well-known default S3 credentials"):
        get_settings()

    monkeypatch.setenv("COPYDESK_ENV", "development")
    get_settings.cache_clear()
    assert get_settings().s3_access_key == "minioadmin"


def test_secret_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_S3_SECRET_KEY", "hunter2-very-secret")
    settings = get_settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


def test_s3_store_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_STORE", "s3")
    with pytest.raises(ConfigurationError, match="COPYDESK_S3_ACCESS_KEY"):
        create_store(get_settings())


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_STORE", "ftp")
    with pytest.raises(ConfigurationError, match="store"):
        get_settings()


def test_task_retry_budget_is_a_count_and_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().task_retries, Settings().task_retry_delays) == (2, [2.0, 10.0])
    monkeypatch.setenv("COPYDESK_TASK_RETRIES", "0")
    monkeypatch.setenv("COPYDESK_TASK_RETRY_DELAYS", "0.5, 4")
    assert (Settings().task_retries, Settings().task_retry_delays) == (0, [0.5, 4.0])
    for bad in ("", "-1", "soon"):
        monkeypatch.setenv("COPYDESK_TASK_RETRY_DELAYS", bad)
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="task_retry_delays"):
            get_settings()
