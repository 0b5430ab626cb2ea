"""The `copydesk` command as a user runs it: a real subprocess of the installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from db import migrate
from tests.conftest import s3_env
from tests.support.services import S3Server, start_s3_server


def copydesk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "copydesk.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    result = copydesk("--help")
    assert result.returncode == 0
    for command in ("doctor", "db", "config", "version"):
        assert command in result.stdout
    assert copydesk("db", "--help").returncode == 0


def test_db_upgrade_then_current(isolated_settings: Path) -> None:
    head = migrate.head_revision()
    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    assert head == max(path.name[:4] for path in versions.glob("[0-9]*.py"))
    upgraded = copydesk("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"at revision {head}" in upgraded.stdout
    assert (isolated_settings / "copydesk.db").is_file()
    current = copydesk("db", "current")
    assert f"revision {head} (newest: {head})" in current.stdout


def test_doctor_reports_each_part_and_fails_on_unmigrated_database() -> None:
    result = copydesk("doctor")
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert [line.split()[1] for line in lines] == ["database", "object", "text", "prefect"]
    assert lines[0].startswith("FAIL database") and "copydesk db upgrade" in lines[0]
    assert lines[1].startswith("ok   object store")


@pytest.mark.integration
def test_doctor_names_a_stopped_s3_server(tmp_path: Path) -> None:
    server = start_s3_server(tmp_path / "s3")
    try:
        env = {**s3_env(server, f"t-{uuid.uuid4().hex[:12]}"), "COPYDESK_S3_CREATE_BUCKET": "true"}
        assert copydesk("db", "upgrade", env=env).returncode == 0

        healthy = copydesk("doctor", env=env)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert all(line.startswith("ok") for line in healthy.stdout.splitlines())

        server.stop()
        broken = copydesk("doctor", env=env)
    finally:
        server.stop()
    assert broken.returncode == 1
    (store_line,) = [line for line in broken.stdout.splitlines() if "object store" in line]
    assert store_line.startswith("FAIL object store")
    assert f"http://{server.endpoint}" in store_line and "connection refused" in store_line
    assert "Traceback" not in broken.stdout + broken.stderr
    others = [line for line in broken.stdout.splitlines() if "object store" not in line]
    assert all(line.startswith("ok") for line in others)


@pytest.mark.integration
def test_wrong_secret_is_one_clear_line(s3_server: S3Server) -> None:
    env = {**s3_env(s3_server, "copydesk"), "COPYDESK_S3_SECRET_KEY": "wrong-secret"}
    assert copydesk("db", "upgrade", env=env).returncode == 0
    result = copydesk("doctor", env=env)
    assert result.returncode == 1
    (store_line,) = [line for line in result.stdout.splitlines() if "object store" in line]
    assert f"http://{s3_server.endpoint}" in store_line and "secret key is wrong" in store_line
    assert "Traceback" not in result.stdout + result.stderr


def test_configuration_errors_are_one_line_without_traceback() -> None:
    result = copydesk(
        "doctor",
        env={
            "COPYDESK_STORE": "s3",
            "COPYDESK_S3_ACCESS_KEY": "minioadmin",
            "COPYDESK_S3_SECRET_KEY": "minioadmin",
        },
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to use the well-known default S3 credentials")
    assert "Traceback" not in result.stderr


def test_run_without_type_names_what_is_missing(isolated_settings: Path) -> None:
    sample = Path(__file__).resolve().parents[3] / "templates" / "restaurant" / "samples"
    result = copydesk("run", str(sample / "restaurants.csv"))

    assert result.returncode == 1
    assert "--type is missing" in result.stderr
    assert "one of: article, product_description, restaurant" in result.stderr
    assert "give an input file" not in result.stderr
