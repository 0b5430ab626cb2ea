"""The row builders and fail helpers the stages share."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from copydesk.checks.findings import CheckFinding
from copydesk.generation.base import Decoding, GenerationRequest, GenerationResult
from copydesk.pipeline.rows import fail_items, finding_row, finding_values, generation_values
from copydesk.pipeline.types import NewGeneration, RunIds
from copydesk.storage import LocalStore
from db.models import Finding, Item, ItemStatus
from db.session import session_scope
from tests.support.desk import reviewable_batch
from tests.support.fake_generator import FakeGenerator


def test_a_generation_row_records_the_call_for_lineage() -> None:
    request = GenerationRequest.chat("Describe it.", decoding=Decoding(max_new_tokens=40), seed=7)
    result = GenerationResult("It is.", "<prompt>", 12, 2, "stop", 0.5, None)
    new = NewGeneration(3, 4, "intro", 2, request, result, generation_round=2)

    row = generation_values(new, FakeGenerator(), RunIds("flow-1", "task-1"))

    assert row["item_id"] == 3 and row["plan_id"] == 4
    assert (row["section"], row["attempt"], row["generation_round"]) == ("intro", 2, 2)
    assert (row["backend"], row["model_id"], row["model_revision"]) == (
        "fake",
        "fake-model",
        "sha256:fake",
    )
    assert row["seed"] == 7  # the result gave none: the request's
    assert row["prompt"] == "<prompt>" and row["prompt_sha256"].startswith("sha256:")
    assert row["decoding"]["max_new_tokens"] == 40
    assert (row["tokens_in"], row["tokens_out"], row["duration_s"]) == (12, 2, 0.5)
    assert (row["prefect_flow_run_id"], row["prefect_task_run_id"]) == ("flow-1", "task-1")


def test_a_finding_row_keeps_what_the_check_found() -> None:
    finding = CheckFinding("length", "warning", "too long", 3, 9, "cut it", "name")

    values = finding_values(5, 6, finding, refinement_id=7, section="intro")
    row = finding_row(5, None, finding)

    assert values == {
        "item_id": 5,
        "generation_id": 6,
        "refinement_id": 7,
        "section": "intro",
        "check": "length",
        "severity": "warning",
        "span_start": 3,
        "span_end": 9,
        "message": "too long",
        "suggestion": "cut it",
    }
    assert isinstance(row, Finding)
    assert (row.item_id, row.generation_id, row.check, row.message) == (
        5,
        None,
        "length",
        "too long",
    )


def test_fail_items_fails_only_unfinished_items(database_url: str, tmp_path: Path) -> None:
    from db import migrate

    migrate.upgrade(database_url)
    _, done = reviewable_batch(database_url, LocalStore(tmp_path / "store"))
    with session_scope(database_url) as session:
        item = session.get_one(Item, done[0])
        item.status = ItemStatus.GENERATED  # as if its chunk stopped after generate

    failed = fail_items(database_url, done, "refine failed after retries: boom")

    assert failed == 1
    with session_scope(database_url, readonly=True) as session:
        rows = {i.id: (i.status, i.error) for i in session.scalars(select(Item))}
    assert rows[done[0]] == (ItemStatus.FAILED, "refine failed after retries: boom")
    assert all(rows[i] == (ItemStatus.PENDING_REVIEW, None) for i in done[1:])
