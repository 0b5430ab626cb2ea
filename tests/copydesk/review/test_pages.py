"""The queue and item pages: filters, paging, what an item shows, escaping, the image."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from copydesk.desk.item_view import item_detail
from copydesk.hashing import sha256_bytes
from copydesk.review.routes_queue import bulk_summary
from db.models import Asset
from db.session import session_scope
from tests.copydesk.review.conftest import ReviewDesk

ITEM_LINK = re.compile(r'href="/items/(\d+)" class="item-link"')
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def listed(html: str) -> list[int]:
    return [int(i) for i in ITEM_LINK.findall(html)]


def test_queue_filters_sort_and_pages(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    everything = [*desk.clean_ids, *desk.flagged_ids, desk.hostile_id]
    assert listed(client.get("/").text) == everything  # pending_review, oldest first
    assert listed(client.get(f"/queue?batch={desk.batch_id}").text) == desk.clean_ids
    flagged = client.get(f"/queue?batch={desk.flagged_batch_id}&failing=yes").text
    assert listed(flagged) == desk.flagged_ids
    assert 'disabled title="' in flagged and "failing" in flagged
    assert listed(client.get(f"/queue?batch={desk.flagged_batch_id}&failing=no").text) == []
    clean = client.get("/queue?failing=no&content_type=restaurant").text
    assert listed(clean) == desk.clean_ids
    newest = listed(client.get("/queue?sort=newest").text)
    assert newest == sorted(everything, reverse=True)
    by_errors = listed(client.get("/queue?sort=errors").text)
    errors = [item_detail(desk.url, i).check_errors for i in by_errors]
    assert (
        errors == sorted(errors, reverse=True) and errors[0] > 0 and sorted(by_errors) == everything
    )
    first = client.get("/queue?per_page=3")
    assert listed(first.text) == everything[:3]
    assert f"page 1 of {-(-len(everything) // 3)}" in first.text
    assert 'href="/queue?per_page=3&amp;page=2"' in first.text
    second = client.get("/queue?per_page=3&page=2")
    assert listed(second.text) == everything[3:6]
    assert 'href="/queue?per_page=3&amp;page=1"' in second.text
    assert listed(client.get("/queue?status=approved").text) == []
    for bad in ("batch=abc", "status=nope", "sort=random", "page=0", "per_page=5000", "failing=x"):
        response = client.get(f"/queue?{bad}")
        assert response.status_code == 400, bad
        assert "Cannot show that queue" in response.text


def test_item_page_shows_record_text_findings_history_and_lineage(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.flagged_ids[0]
    detail = item_detail(desk.url, item_id)
    html = client.get(f"/items/{item_id}").text
    assert "How to Start a Balcony Herb Garden" in html  # the record
    assert "city renters with no gardening experience" in html
    assert "does not mention title" in html and "facts_present" in html  # findings
    assert 'id="approve-button" disabled' in html and "Approval is blocked" in html
    assert html.count('class="edit-box"') == len(detail.sections)
    assert "refiner" in html or "model" in html  # revisions
    assert detail.template_sha256 and detail.template_sha256 in html
    assert "fake-model" in html and "@ <code>sha256:fake</code>" in html  # lineage
    assert 'href="http://prefect.test:4200/runs/flow-run/flow-desk"' in html
    assert f'id="next-link">Next item #{desk.flagged_ids[1]}' in html
    assert "Shortcuts:" in html and 'src="/static/review.js"' in html
    assert desk.signed_in("bob").get("/items/99999").status_code == 404


def test_findings_with_spans_are_marked(desk: ReviewDesk, tmp_path: Path) -> None:
    from tests.support.desk import ARTICLES, reviewable_batch

    def repeating(request: object) -> str:
        return "Pots need holes. Pots need holes. This is is fine."

    _, ids = reviewable_batch(
        desk.url, desk.store, source=ARTICLES, content_type="article", responder=repeating
    )
    html = desk.signed_in("alice").get(f"/items/{ids[0]}").text
    marks = re.findall(r'<mark class="sev-(\w+)" title="([^"]*)">([^<]*)</mark>', html)
    assert marks, "no finding marked in the text"
    assert any("repeats the sentence" in title for _, title, _ in marks)


def test_invented_content_is_marked_like_any_finding(desk: ReviewDesk, monkeypatch: Any) -> None:
    """Grounding, subject and claims findings (issue 18) reach the page as the others do:
    in the findings table and marked in the text (no fallback here, so the model's text
    stays, flagged)."""
    from tests.support.desk import reviewable_batch

    monkeypatch.setattr("copydesk.pipeline.refine.fallback_text", lambda *args: None)

    def inventing(request: object) -> str:
        return (
            "Alimentum is a pub in Liverpool's city centre, next to the Redhouse Pub. "
            "It is not family-friendly and serves the finest ale."
        )

    _, ids = reviewable_batch(desk.url, desk.store, responder=inventing)
    html = desk.signed_in("alice").get(f"/items/{ids[0]}").text
    marks = re.findall(r'<mark class="sev-(\w+)" title="([^"]*)">([^<]*)</mark>', html)
    marked = {(title.split(":")[0], text) for _, title, text in marks}
    # the check in an editor's words: grounding, then claims
    wanted = {("not in the input", "Liverpool&#39;s"), ("an unverifiable claim", "finest")}
    assert wanted <= marked, marks
    assert "mentions &#39;Redhouse Pub&#39;" in html  # marked in part: a lint came first
    assert "do not mention" in html  # the suggestion, as the next attempt gets it
    assert "the model&#39;s best attempt, still failing checks" in html  # who wrote it
    assert "refine: flagged" not in html


def test_user_content_is_escaped(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    html = client.get(f"/items/{desk.hostile_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Herb tips" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    queue = client.get("/queue").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in queue and "<script>alert" not in queue
    # The reason an editor gives is escaped too, on the next page that shows it.
    from tests.copydesk.review.conftest import csrf_of

    page = client.get(f"/items/{desk.clean_ids[0]}").text
    version = item_detail(desk.url, desk.clean_ids[0]).version
    client.post(
        f"/items/{desk.clean_ids[0]}/reject",
        data={
            "csrf_token": csrf_of(page),
            "version": version,
            "reason": "<b onmouseover=x>bad</b>",
        },
    )
    html = client.get(f"/items/{desk.clean_ids[0]}").text
    assert "&lt;b onmouseover=x&gt;bad&lt;/b&gt;" in html and "<b onmouseover" not in html


def test_item_image_is_served_to_signed_in_editors_only(desk: ReviewDesk) -> None:
    item_id = desk.clean_ids[0]
    key = f"batches/{desk.batch_id}/items/{item_id}/image.png"
    desk.store.put(key, PNG, "image/png")
    with session_scope(desk.url) as session:
        session.add(
            Asset(item_id=item_id, object_key=key, sha256=sha256_bytes(PNG), mime_type="image/png")
        )
    client = desk.signed_in("vera")
    assert f'src="/items/{item_id}/image"' in client.get(f"/items/{item_id}").text
    response = client.get(f"/items/{item_id}/image")
    assert response.status_code == 200 and response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert desk.client().get(f"/items/{item_id}/image").status_code == 401
    assert client.get(f"/items/{desk.clean_ids[1]}/image").status_code == 404


def test_stored_objects_that_are_not_images_are_downloads(desk: ReviewDesk) -> None:
    item_id = desk.clean_ids[1]
    key = f"batches/{desk.batch_id}/items/{item_id}/image.html"
    data = b"<script>alert(1)</script>"
    desk.store.put(key, data, "text/html")
    with session_scope(desk.url) as session:
        session.add(
            Asset(item_id=item_id, object_key=key, sha256=sha256_bytes(data), mime_type="text/html")
        )
    response = desk.signed_in("vera").get(f"/items/{item_id}/image")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")


def test_bulk_summary_names_what_was_skipped() -> None:
    assert bulk_summary([1, 2], {}) == "Approved 2 item(s) (1, 2)."
    text = bulk_summary([], {i: "has failing checks" for i in range(12)})
    assert text.startswith("Approved 0 item(s). Skipped 12: 0: has failing checks;")
    assert text.endswith("… and 2 more.")
