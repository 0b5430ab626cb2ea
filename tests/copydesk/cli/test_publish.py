"""`copydesk export-feedback` and `copydesk publish`'s own checks, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from copydesk.settings import get_settings
from copydesk.storage import create_store
from tests.copydesk.cli.test_main import copydesk
from tests.copydesk.desk.test_feedback import build_desk


def test_export_feedback_writes_a_file_or_stdout(isolated_settings: Path, tmp_path: Path) -> None:
    settings = get_settings()
    desk = build_desk(settings.resolved_database_url, create_store(settings))
    path = tmp_path / "sft.jsonl"

    result = copydesk(
        "export-feedback", "--batch", str(desk.batch_id), "--format", "sft", "-o", str(path)
    )

    assert result.returncode == 0, result.stderr
    assert f"wrote 3 sft record(s) to {path}" in result.stderr
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["item_id"] for r in records) == sorted(
        [desk.alimentum, desk.browns, desk.cocum]
    )

    to_stdout = copydesk("export-feedback", "--format", "preference")
    assert to_stdout.returncode == 0, to_stdout.stderr
    pairs = [json.loads(line) for line in to_stdout.stdout.splitlines()]
    assert sorted(p["source"] for p in pairs) == ["edit", "regeneration"]
    assert "wrote 2 preference record(s) to stdout" in to_stdout.stderr


def test_export_feedback_refuses_bad_arguments_in_one_line(isolated_settings: Path) -> None:
    missing = copydesk("export-feedback")
    assert missing.returncode == 2 and "--format" in missing.stderr

    unknown = copydesk("export-feedback", "--format", "dpo")
    assert unknown.returncode == 2 and "dpo" in unknown.stderr

    unmigrated = copydesk("export-feedback", "--format", "sft")
    assert unmigrated.returncode == 1 and "copydesk db upgrade" in unmigrated.stderr

    assert copydesk("db", "upgrade").returncode == 0
    no_batch = copydesk("export-feedback", "--format", "jsonl", "--batch", "999")
    assert no_batch.returncode == 1
    assert "no batch 999" in no_batch.stderr and "Traceback" not in no_batch.stderr


def test_publish_needs_a_batch_or_all(isolated_settings: Path) -> None:
    assert copydesk("db", "upgrade").returncode == 0
    for args in ((), ("1", "--all")):
        result = copydesk("publish", *args)
        assert result.returncode == 1 and "give a batch id, or --all" in result.stderr
    no_batch = copydesk("publish", "999")
    assert no_batch.returncode == 1 and "no batch 999" in no_batch.stderr
    help_text = copydesk("publish", "--help")
    assert help_text.returncode == 0 and "published/" in help_text.stdout
