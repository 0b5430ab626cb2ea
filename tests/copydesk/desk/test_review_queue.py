"""The review queue (filters, sorts, pages) and the item view (findings at their spans)."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.desk import decisions
from copydesk.desk.item_view import FindingView, Segment, highlight, item_detail
from copydesk.desk.review_queue import QueueQuery, list_queue, next_in_queue
from copydesk.errors import CopydeskError
from copydesk.storage import LocalStore
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


def test_highlight_marks_spans_and_keeps_every_character() -> None:
    text = "The cat sat on the mat."
    segments = highlight(text, [_finding(4, 7), _finding(19, 22), _finding(5, 9)])
    assert segments == [
        Segment("The "),
        Segment("cat", 0),
        Segment(" s", 2),  # the overlapping rest of the third finding
        Segment("at on the "),
        Segment("mat", 1),
        Segment("."),
    ]
    # Spans without offsets or outside the text are listed but not marked.
    assert highlight(text, [_finding(None, None), _finding(10, 99)]) == [Segment(text)]
