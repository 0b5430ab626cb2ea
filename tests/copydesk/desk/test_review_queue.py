"""The review queue (filters, sorts, pages, previews, counters, status words) and the item
view (findings at their spans)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from copydesk.desk import decisions
from copydesk.desk.item_view import item_detail
from copydesk.desk.marked_text import FindingView
from copydesk.desk.review_queue import (
    STATUS_WORDS,
    QueueQuery,
    list_queue,
    next_in_queue,
    preview_of,
    start_of_today,
)
from copydesk.errors import CopydeskError
from copydesk.hashing import sha256_text
from copydesk.storage import LocalStore
from db.models import Decision, ItemStatus, Review, Revision
from db.session import session_scope
from tests.support.desk import editor, flagged_batch, reviewable_batch


def test_filters_sorts_and_pages(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    restaurants, clean = reviewable_batch(database_url, store)
    articles, flagged = flagged_batch(database_url, store)

    everything = list_queue(database_url, QueueQuery(per_page=200))
    assert everything.total == len(clean) + len(flagged)
    assert [r.item_id for r in everything.rows] == sorted(clean + flagged)

    by_batch = list_queue(database_url, QueueQuery(batch_id=articles))
    assert [r.item_id for r in by_batch.rows] == flagged
    assert {r.content_type for r in by_batch.rows} == {"article"}
    assert by_batch.rows[0].label == "How to Start a Balcony Herb Garden"
    by_type = list_queue(database_url, QueueQuery(content_type="restaurant", per_page=200))
    assert [r.item_id for r in by_type.rows] == clean
    failing = list_queue(database_url, QueueQuery(failing=True))
    assert [r.item_id for r in failing.rows] == flagged and all(
        r.check_errors for r in failing.rows
    )
    assert list_queue(database_url, QueueQuery(failing=False, per_page=200)).total == len(clean)

    worst_first = list_queue(database_url, QueueQuery(sort="errors", per_page=200)).rows
    assert [r.check_errors for r in worst_first] == sorted(
        (r.check_errors for r in worst_first), reverse=True
    )
    newest = list_queue(database_url, QueueQuery(sort="newest", per_page=3))
    assert [r.item_id for r in newest.rows] == sorted(clean + flagged, reverse=True)[:3]

    page_two = list_queue(database_url, QueueQuery(batch_id=restaurants, page=2, per_page=3))
    assert [r.item_id for r in page_two.rows] == clean[3:6]
    assert page_two.pages == -(-len(clean) // 3) and page_two.has_next

    alice, _ = editor(database_url)
    decisions.approve(database_url, alice, clean[0], everything.rows[0].version)
    assert clean[0] not in [r.item_id for r in list_queue(database_url, QueueQuery()).rows]
    approved = list_queue(database_url, QueueQuery(status="approved"))
    assert [r.item_id for r in approved.rows] == [clean[0]]
    assert next_in_queue(database_url, clean[0]) == clean[1]
    assert next_in_queue(database_url, flagged[-1]) == clean[1]  # wraps around
    assert next_in_queue(database_url, clean[1], batch_id=restaurants) == clean[2]


def test_bad_queries_are_refused() -> None:
    with pytest.raises(CopydeskError, match="unknown status"):
        QueueQuery(status="nope")
    with pytest.raises(CopydeskError, match="unknown sort"):
        QueueQuery(sort="random")  # type: ignore[arg-type]
    with pytest.raises(CopydeskError, match="per page"):
        QueueQuery(per_page=10_000)


def test_item_detail_shows_findings_on_the_current_text(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _, (item_id, *_) = flagged_batch(database_url, store)
    detail = item_detail(database_url, item_id)
    assert detail.record["title"] == "How to Start a Balcony Herb Garden"
    assert detail.template_sha256 and detail.template_sha256.startswith("sha256:")
    assert [s.name for s in detail.sections] == ["intro", "body"]
    assert sum(1 for s in detail.sections for f in s.findings if f.severity == "error") == (
        detail.check_errors
    )
    for section in detail.sections:
        assert "".join(segment.text for segment in section.segments) == section.text
        assert section.decision == "flagged"
    assert {g.model_id for g in detail.generations} == {"fake-model"}
    assert detail.generations[0].prefect_flow_run_id == "flow-desk"
    with pytest.raises(CopydeskError, match="no item 999"):
        item_detail(database_url, 999)


def _finding(start: int | None, end: int | None) -> FindingView:
    return FindingView("s", "check", "error", "message", None, start, end)


def test_preview_drops_headings_collapses_space_and_cuts() -> None:
    assert preview_of("## Alimentum\n\nA  quiet\tplace.\n\nNear the river.") == (
        "A quiet place. Near the river."
    )
    assert preview_of("# Title\n#hashtag stays\n  ### Indented heading\ntext") == (
        "#hashtag stays text"
    )
    assert preview_of(None) == preview_of("") == preview_of("## Only a heading") == ""
    long = "## Name\n\n" + " ".join(["word"] * 60)
    shown = preview_of(long)
    assert len(shown) <= 140 and shown.endswith("word…") and "#" not in shown
    assert preview_of("x" * 300).endswith("…") and len(preview_of("x" * 300)) == 140
    assert preview_of("The start of a long text", cut=True) == "The start of a long text…"


def test_every_status_has_words_for_editors() -> None:
    assert set(STATUS_WORDS) == set(ItemStatus)
    assert all("_" not in words for words in STATUS_WORDS.values())
    assert STATUS_WORDS[ItemStatus.PENDING_REVIEW] == "waiting for review"
    assert QueueQuery(status=None).status is None  # any status


def test_start_of_today_is_the_servers_local_midnight() -> None:
    now = datetime(2024, 3, 5, 15, 30, tzinfo=UTC)
    midnight = start_of_today(now)
    assert midnight.tzinfo is not None and midnight <= now < midnight + timedelta(days=1)
    assert (midnight.hour, midnight.minute, midnight.date()) == (0, 0, now.astimezone().date())


def test_rows_preview_the_newest_revision_in_one_page(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _, clean = reviewable_batch(database_url, store)
    first = list_queue(database_url, QueueQuery(per_page=200)).rows
    assert all(row.preview and "#" not in row.preview for row in first)  # headings gone
    assert all(len(row.preview) <= 140 for row in first)
    with session_scope(database_url) as session:
        session.add(
            Revision(
                item_id=clean[0],
                author_kind="editor",
                author="alice",
                text="## Heading\n\nThe   editor's\nnew text. " + "More. " * 200,
                text_sha256=sha256_text("new"),
            )
        )
    row = list_queue(database_url, QueueQuery(per_page=1)).rows[0]
    assert row.item_id == clean[0]
    assert row.preview.startswith("The editor's new text. More. More.")
    assert row.preview.endswith("…") and len(row.preview) <= 140


def test_counters_and_any_status(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    restaurants, clean = reviewable_batch(database_url, store)
    articles, flagged = flagged_batch(database_url, store)
    alice, _ = editor(database_url)
    versions = {
        r.item_id: r.version for r in list_queue(database_url, QueueQuery(per_page=200)).rows
    }
    decisions.approve(database_url, alice, clean[0], versions[clean[0]])
    decisions.reject(database_url, alice, clean[1], versions[clean[1]], "too short")
    decisions.request_regeneration(database_url, alice, flagged[0], versions[flagged[0]], "more")
    with session_scope(database_url) as session:  # an edit decides nothing
        session.add(Review(item_id=clean[2], editor_id=alice.id, decision=Decision.EDIT))
    left = len(clean) + len(flagged) - 3

    page = list_queue(database_url, QueueQuery(failing=False))
    assert (page.total, page.left_to_review, page.decided_today) == (len(clean) - 2, left, 3)
    by_batch = list_queue(database_url, QueueQuery(status="approved", batch_id=restaurants))
    assert (by_batch.total, by_batch.left_to_review, by_batch.decided_today) == (
        1,
        len(clean) - 2,
        2,
    )
    by_type = list_queue(database_url, QueueQuery(content_type="article"))
    assert (by_type.left_to_review, by_type.decided_today) == (len(flagged) - 1, 1)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert list_queue(database_url, QueueQuery(), now=tomorrow).decided_today == 0

    everything = list_queue(database_url, QueueQuery(status=None, per_page=200))
    assert everything.total == len(clean) + len(flagged)
    assert [r.item_id for r in everything.rows] == sorted(clean + flagged)
    assert {r.item_id: r.status for r in everything.rows if r.status != "pending_review"} == {
        clean[0]: "approved",
        clean[1]: "rejected",
        flagged[0]: "regenerate",
    }
    worst = list_queue(database_url, QueueQuery(status=None, sort="errors", batch_id=articles))
    assert worst.rows[0].check_errors == max(r.check_errors for r in everything.rows)
