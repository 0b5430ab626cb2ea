"""The queue and item pages: filters, paging, what an item shows, escaping, the image."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from copydesk.content.types import CHECKS
from copydesk.desk.decisions import bulk_approve
from copydesk.desk.editors import authenticate
from copydesk.desk.item_view import item_detail
from copydesk.desk.review_queue import STATUS_WORDS
from copydesk.hashing import sha256_bytes
from copydesk.review.routes_queue import bulk_summary
from copydesk.review.web import CHECK_WORDS
from db.models import Asset, ItemStatus
from db.session import session_scope
from tests.copydesk.review.conftest import ReviewDesk, csrf_of, wait_for

ITEM_LINK = re.compile(r'href="/items/(\d+)" class="item-link"')
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def listed(html: str) -> list[int]:
    return [int(i) for i in ITEM_LINK.findall(html)]


def visible_text(page: str) -> str:
    """What an editor reads: the page without its tags (attributes, scripts) and entities."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# Stored values an editor must never read: statuses whose words differ, and check ids.
RAW_WORDS = sorted({s.value for s in ItemStatus if STATUS_WORDS[s] != s.value} | set(CHECK_WORDS))


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
    assert "the text as first written" in html  # revisions
    assert "the best attempt of the base model, still failing checks" in html
    assert "was not used" not in html  # flagged: the model's text is the one shown
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
    assert "the best attempt of the base model, still failing checks" in html  # who wrote it
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


def test_queue_speaks_an_editors_words(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    token = csrf_of(client.get("/queue").text)
    first, second = desk.clean_ids[:2]
    client.post(
        "/queue/approve",
        data={
            "csrf_token": token,
            "item_id": [str(first)],
            f"version_{first}": str(item_detail(desk.url, first).version),
        },
    )
    client.post(
        "/queue/approve",
        data={"csrf_token": token, "item_id": [str(first)], f"version_{first}": "1"},
    )  # skipped: the flash says why, in words
    pages = {
        query: client.get(f"/queue?{query}")
        for query in ("", "status=any", "status=", "status=approved", "failing=yes&sort=errors")
    }
    for query, response in pages.items():
        assert response.status_code == 200, query
        text = visible_text(response.text)
        found = [w for w in RAW_WORDS if re.search(rf"\b{w}\b", text)]
        assert found == [], f"/queue?{query} shows {found}"
        assert "Round" not in text and "Rewrites" in text
    assert "it is now approved" in visible_text(pages[""].text)
    assert "waiting for review" in visible_text(pages[""].text)
    for query in ("status=any", "status="):
        page = pages[query].text
        assert listed(page) == sorted([*desk.clean_ids, *desk.flagged_ids, desk.hostile_id])
        assert f'id="status-{first}">approved<' in page
        assert f'id="status-{second}">waiting for review<' in page
        assert '<option value="any" selected>any status</option>' in page
        assert "in any status" in page
    assert '<option value="pending_review" selected>waiting for review</option>' in pages[""].text


def test_queue_shows_previews_counters_and_ticks_only_items_waiting(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    first = desk.clean_ids[0]
    page = client.get("/queue").text
    preview = re.search(rf'id="preview-{first}">([^<]*)<', page)
    assert preview and preview.group(1).strip() and "#" not in preview.group(1)
    assert len(html.unescape(preview.group(1)).strip()) <= 140
    waiting = len(desk.clean_ids) + len(desk.flagged_ids) + 1
    assert f'<strong id="left-to-review">{waiting}</strong> left to review' in page
    assert '<strong id="decided-today">0</strong> decided today' in page
    assert 'class="pick"' in page and 'id="bulk-approve"' in page

    version = str(item_detail(desk.url, first).version)
    data = {"csrf_token": csrf_of(page), "item_id": [str(first)], f"version_{first}": version}
    client.post("/queue/approve", data=data)
    page = client.get(f"/queue?batch={desk.batch_id}").text
    assert f'<strong id="left-to-review">{len(desk.clean_ids) - 1}</strong>' in page
    assert '<strong id="decided-today">1</strong>' in page
    other = client.get(f"/queue?batch={desk.flagged_batch_id}").text
    assert '<strong id="decided-today">0</strong>' in other  # counters follow the batch
    for query in ("status=any", "status=approved", "status=rejected", "status="):
        listed_page = client.get(f"/queue?{query}").text
        assert 'class="pick"' not in listed_page and 'id="select-all"' not in listed_page
        assert 'id="bulk-approve"' not in listed_page, query
    assert 'src="/static/queue.js"' in page
    script = client.get("/static/queue.js")
    assert script.status_code == 200 and "window.confirm" in script.text
    viewer = desk.signed_in("vera").get("/queue").text
    assert 'class="pick"' not in viewer and 'id="bulk-approve"' not in viewer


def test_bulk_summary_says_statuses_in_words(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[0]
    stale = item_detail(desk.url, item_id).version
    _edit(client, desk, item_id, item_detail(desk.url, item_id).sections[0].text + " Edited.")
    alice = authenticate(desk.url, "alice", desk.secrets["alice"])
    result = bulk_approve(desk.url, alice, [(item_id, stale)])  # still waiting, but changed
    assert "it is now waiting for review at" in bulk_summary(result.approved, result.skipped)


def read_text(page: str) -> str:
    """`visible_text`, its white space runs as single spaces."""
    return " ".join(visible_text(page).split())


def developer_words(text: str) -> list[str]:
    """Check ids, item statuses and other words of the code found in `text` (whole words,
    as written in the code: "Regenerate" on a button is not the status `regenerate`)."""
    ids = sorted({*CHECKS, *CHECK_WORDS, *(status.value for status in ItemStatus)})
    found = [word for word in ids if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]
    return found + re.findall(r"\bround\b|\bversion \d+|\brefine: ?\w+", text, re.IGNORECASE)


def _edit(client: TestClient, desk: ReviewDesk, item_id: int, text: str) -> None:
    page = client.get(f"/items/{item_id}").text
    detail = item_detail(desk.url, item_id)
    data = {"csrf_token": csrf_of(page), "version": str(detail.version)}
    response = client.post(
        f"/items/{item_id}/edit", data=data | {f"section:{detail.sections[0].name}": text}
    )
    assert response.status_code == 303 and response.headers["location"] == f"/items/{item_id}"


def test_item_pages_show_no_developer_words(desk: ReviewDesk) -> None:
    """A fallback item with findings on the model's attempts, and an item an editor edited
    (their text still misses facts), read as an editor sees them."""
    client = desk.signed_in("alice")
    fallback_id, edited_id = desk.clean_ids[:2]
    _edit(client, desk, edited_id, "A fine place to eat.")
    pages = {
        item_id: read_text(client.get(f"/items/{item_id}").text) for item_id in desk.clean_ids[:2]
    }
    for item_id, text in pages.items():
        assert developer_words(text) == [], (item_id, text)
    # the scan read the words the checks' findings are shown in
    assert "a fact is missing" in pages[fallback_id] and "a fact is missing" in pages[edited_id]
    assert "waiting for review" in pages[fallback_id]
    assert developer_words("facts_present round 2, version 5 pending_review") == [
        "facts_present",
        "pending_review",
        "round",
        "version 5",
    ]


def test_an_edit_shows_as_word_changes_against_the_text_it_edited(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[0]  # its text is the template fallback's
    before = item_detail(desk.url, item_id).sections[0].text
    _edit(client, desk, item_id, before.replace("city centre", "riverside area"))
    html = client.get(f"/items/{item_id}").text
    history = html[html.index('id="history"') : html.index('id="lineage"')]
    assert "<del>city centre</del><ins>riverside area</ins>" in history
    assert "changes by editor alice" in history and "editor alice" in history
    assert "the template fallback in place of the model&#39;s text" in history
    assert "--- model" not in html and "+++ editor" not in html
    assert "## " not in read_text(history)  # section labels, not Markdown headings
    assert "current text by editor alice" in html
    detail = item_detail(desk.url, item_id)
    assert [r.author_words for r in detail.revisions] == [
        "the base model",
        "the template fallback",
        "editor alice",
    ]


def test_the_model_attempts_show_when_the_fallback_wrote_the_text(desk: ReviewDesk) -> None:
    """The model's text (an invented place) failed the checks: the template fallback wrote
    the section, and the page shows the discarded text, its findings marked, and why."""
    from tests.support.desk import reviewable_batch

    def inventing(request: object) -> str:
        return "Alimentum is a pub in Liverpool's city centre. It is not family-friendly."

    _, ids = reviewable_batch(desk.url, desk.store, responder=inventing)
    html = desk.signed_in("alice").get(f"/items/{ids[0]}").text
    attempts = html[html.index('id="attempts"') : html.index('id="history"')]
    marks = re.findall(r'<mark class="sev-(\w+)" title="([^"]*)">([^<]*)</mark>', attempts)
    marked = {(title.split(":")[0], text) for _, title, text in marks}
    assert {("not in the input", "Liverpool&#39;s"), ("a wrong or invented value", "pub")} <= marked
    assert '<div class="candidate-text">Alimentum is a <mark' in attempts
    assert (
        "Not used: after 1 attempt(s) the model's text still did not pass the checks (a wrong "
        "or invented value; not in the input), so the template fallback wrote this section."
    ) in read_text(attempts)
    current = html[html.index('id="sections"') : html.index('id="attempts"')]
    assert "written by the template fallback" in current
    assert "What the model wrote was not used:" in current and "not in the input" in current


def test_regenerate_stays_on_the_item_and_says_when_the_text_is_the_same(
    desk: ReviewDesk,
) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[2]
    page = client.get(f"/items/{item_id}").text
    data = {
        "csrf_token": csrf_of(page),
        "version": str(item_detail(desk.url, item_id).version),
        "batch": str(desk.batch_id),
        "notes": "Say that it is by the river.",
    }
    response = client.post(f"/items/{item_id}/regenerate", data=data)
    assert response.status_code == 303 and response.headers["location"] == f"/items/{item_id}"
    wait_for(lambda: item_detail(desk.url, item_id).status == ItemStatus.PENDING_REVIEW)
    html = client.get(f"/items/{item_id}").text
    assert "is being regenerated with your notes" in html  # the flash
    assert 'id="regenerating"' not in html
    # the model's text failed again: the same fallback text
    assert "The regeneration produced the same text as before." in html
    assert "Rewrite 1, asked for by alice" in html
    assert "Notes for the model: “Say that it is by the river.”" in html
    progress = client.get(f"/items/{item_id}/progress").json()
    assert progress == {"in_progress": False, "status": "waiting for review"}


def test_a_page_waiting_for_a_regeneration_follows_it(desk: ReviewDesk, monkeypatch: Any) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[3]
    monkeypatch.setattr(desk.app.state.desk.regenerator, "submit", lambda item_id: None)
    page = client.get(f"/items/{item_id}").text
    data = {
        "csrf_token": csrf_of(page),
        "version": str(item_detail(desk.url, item_id).version),
        "notes": "Shorter, please.",
    }
    assert client.post(f"/items/{item_id}/regenerate", data=data).status_code == 303
    html = client.get(f"/items/{item_id}").text  # waiting for the worker
    assert f'id="regenerating" data-progress="/items/{item_id}/progress"' in html
    assert '<script src="/static/item.js" defer></script>' in html
    assert "(“Shorter, please.”)" in html
    assert developer_words(read_text(html)) == []
    progress = client.get(f"/items/{item_id}/progress")
    assert progress.json() == {"in_progress": True, "status": STATUS_WORDS[ItemStatus.REGENERATE]}
    assert client.get("/static/item.js").status_code == 200
    assert client.get("/items/99999/progress").status_code == 404
    assert desk.client().get(f"/items/{item_id}/progress").status_code == 401
