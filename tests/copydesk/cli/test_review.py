"""`copydesk editors` and `copydesk review` subcommands, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from copydesk.desk.item_view import item_detail
from copydesk.settings import get_settings
from copydesk.storage import create_store
from db.models import ItemStatus
from tests.copydesk.cli.test_main import copydesk
from tests.support.desk import reviewable_batch


def _secret(result_stdout: str) -> str:
    return result_stdout.strip().splitlines()[-1].strip()


def test_editors_and_review_decisions_through_the_cli(
    isolated_settings: Path, tmp_path: Path
) -> None:
    settings = get_settings()
    url = settings.resolved_database_url
    batch_id, (first, second, third, *_) = reviewable_batch(url, create_store(settings))

    added = copydesk("editors", "add", "alice", "--role", "editor")
    assert added.returncode == 0, added.stderr
    alice = {"COPYDESK_EDITOR_SECRET": _secret(added.stdout)}
    viewer = copydesk("editors", "add", "vic", "--role", "viewer")
    vic = {"COPYDESK_EDITOR_SECRET": _secret(viewer.stdout)}
    listed = copydesk("editors", "list")
    assert "alice" in listed.stdout and "viewer" in listed.stdout

    queue = copydesk(
        "review", "list", "--as", "alice", "--batch", str(batch_id), "--json", env=alice
    )
    assert queue.returncode == 0, queue.stderr
    rows = [json.loads(line) for line in queue.stdout.splitlines()]
    assert [r["item_id"] for r in rows][:3] == [first, second, third]

    shown = copydesk("review", "show", str(first), "--as", "alice", env=alice)
    assert shown.returncode == 0 and f"item {first}" in shown.stdout

    # Wrong secret, no secret, and a viewer deciding: refused, nothing written.
    wrong = copydesk(
        "review", "approve", str(first), "--as", "alice", env={"COPYDESK_EDITOR_SECRET": "nope"}
    )
    assert wrong.returncode == 1 and "unknown editor or wrong secret" in wrong.stderr
    missing = copydesk("review", "list", "--as", "alice")
    assert missing.returncode == 1 and "COPYDESK_EDITOR_SECRET" in missing.stderr
    refused = copydesk("review", "approve", str(first), "--as", "vic", env=vic)
    assert refused.returncode == 1 and "vic is a viewer" in refused.stderr
    assert item_detail(url, first).status == ItemStatus.PENDING_REVIEW

    approved = copydesk("review", "approve", str(first), "--as", "alice", env=alice)
    assert approved.returncode == 0, approved.stderr
    assert item_detail(url, first).status == ItemStatus.APPROVED

    no_reason = copydesk(
        "review", "reject", str(second), "--as", "alice", "--reason", " ", env=alice
    )
    assert no_reason.returncode == 1 and "reason" in no_reason.stderr
    rejected = copydesk(
        "review", "reject", str(second), "--as", "alice", "--reason", "Bland.", env=alice
    )
    assert rejected.returncode == 0
    assert item_detail(url, second).reviews[-1].reason == "Bland."

    stale = copydesk(
        "review",
        "reject",
        str(third),
        "--as",
        "alice",
        "--reason",
        "x",
        "--expect-version",
        "1",
        env=alice,
    )
    assert stale.returncode == 1 and "changed since you loaded it" in stale.stderr

    section = item_detail(url, third).sections[0]
    text_file = tmp_path / "text.txt"
    text_file.write_text("Loch Fyne is a restaurant.", encoding="utf-8")
    edited = copydesk(
        "review",
        "edit",
        str(third),
        "--as",
        "alice",
        "--set-file",
        f"{section.name}={text_file}",
        env=alice,
    )
    assert edited.returncode == 0, edited.stderr
    after = item_detail(url, third)
    assert after.current is not None and after.current.author == "alice"
    assert after.sections[0].text == "Loch Fyne is a restaurant."
    assert ("can be approved" in edited.stdout) == (after.check_errors == 0)

    queued = copydesk(
        "review",
        "regenerate",
        str(third),
        "--as",
        "alice",
        "--notes",
        "Warmer.",
        "--queue-only",
        env=alice,
    )
    assert queued.returncode == 0 and item_detail(url, third).status == ItemStatus.REGENERATE


def test_review_help_describes_serving_and_the_subcommands(isolated_settings: Path) -> None:
    result = copydesk("review", "--help")
    assert result.returncode == 0
    for word in ("--host", "--port", "list", "show", "approve", "reject", "edit", "regenerate"):
        assert word in result.stdout
