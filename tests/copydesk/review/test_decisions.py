"""Decisions through the app: approve, reject, edit, regenerate, bulk approve; conflicts,
refusals and viewers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from copydesk.desk.item_view import item_detail
from db.models import ItemStatus
from tests.copydesk.review.conftest import (
    ReviewDesk,
    csrf_of,
    passing_sections,
    snapshot,
    version_of,
    wait_for,
)


def _form(client: TestClient, desk: ReviewDesk, item_id: int, **fields: str) -> dict[str, str]:
    page = client.get(f"/items/{item_id}")
    assert page.status_code == 200
    version = str(version_of(desk.url, item_id))
    return {"csrf_token": csrf_of(page.text), "version": version, **fields}


def test_approve_goes_to_the_next_item_with_a_flash(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    first, second = desk.clean_ids[:2]
    data = _form(client, desk, first, batch=str(desk.batch_id))
    response = client.post(f"/items/{first}/approve", data=data)
    assert response.status_code == 303 and response.headers["location"] == f"/items/{second}"
    detail = item_detail(desk.url, first)
    assert detail.status == ItemStatus.APPROVED
    assert [(r.editor, r.decision) for r in detail.reviews] == [("alice", "approve")]
    page = client.get(response.headers["location"])
    assert f"Item {first} approved." in page.text
    assert f"Item {first} approved." not in client.get(f"/items/{second}").text  # shown once


def test_a_stale_version_is_a_conflict(desk: ReviewDesk) -> None:
    alice, bob = desk.signed_in("alice"), desk.signed_in("bob")
    item_id = desk.clean_ids[0]
    seen_by_bob = _form(bob, desk, item_id, reason="not for us")
    assert (
        alice.post(f"/items/{item_id}/approve", data=_form(alice, desk, item_id)).status_code == 303
    )
    before = snapshot(desk.url)
    response = bob.post(f"/items/{item_id}/reject", data=seen_by_bob)
    assert response.status_code == 409
    assert "changed since you loaded it" in response.text and "alice" in response.text
    assert f'href="/items/{item_id}"' in response.text and "Reload the item" in response.text
    assert snapshot(desk.url) == before


def test_reject_needs_a_reason(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[0]
    before = snapshot(desk.url)
    for reason in ("", "   "):
        response = client.post(
            f"/items/{item_id}/reject", data=_form(client, desk, item_id, reason=reason)
        )
        assert response.status_code == 422
        assert "a rejection needs a reason" in response.text
    response = client.post(f"/items/{item_id}/reject", data=_form(client, desk, item_id))
    assert response.status_code == 422
    assert snapshot(desk.url) == before
    response = client.post(
        f"/items/{item_id}/reject", data=_form(client, desk, item_id, reason="Wrong area.")
    )
    assert response.status_code == 303
    detail = item_detail(desk.url, item_id)
    assert detail.status == ItemStatus.REJECTED and detail.reviews[-1].reason == "Wrong area."


def test_failing_checks_block_approval_until_an_edit_fixes_them(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.flagged_ids[0]
    before = snapshot(desk.url)
    response = client.post(f"/items/{item_id}/approve", data=_form(client, desk, item_id))
    assert response.status_code == 422 and "failing check" in response.text
    assert snapshot(desk.url) == before
    # An edit that still misses facts is saved, but approval stays blocked.
    texts = {name: "Still nothing useful." for name in passing_sections(desk.url, item_id)}
    fields = {f"section:{name}": text for name, text in texts.items()}
    response = client.post(f"/items/{item_id}/edit", data=_form(client, desk, item_id, **fields))
    assert response.status_code == 303 and response.headers["location"] == f"/items/{item_id}"
    page = client.get(f"/items/{item_id}").text
    assert "check(s) still fail" in page and 'id="approve-button" disabled' in page
    # An edit that carries every fact passes the checks.
    fields = {f"section:{n}": t for n, t in passing_sections(desk.url, item_id).items()}
    response = client.post(f"/items/{item_id}/edit", data=_form(client, desk, item_id, **fields))
    page = client.get(response.headers["location"]).text
    assert "every check passes" in page and 'id="approve-button" disabled' not in page
    assert item_detail(desk.url, item_id).check_errors == 0
    response = client.post(f"/items/{item_id}/approve", data=_form(client, desk, item_id))
    assert response.status_code == 303
    detail = item_detail(desk.url, item_id)
    assert detail.status == ItemStatus.APPROVED
    assert [r.decision for r in detail.reviews] == ["edit", "edit", "approve"]
    assert detail.revisions[-1].author_kind == "editor" and detail.revisions[-1].author == "alice"


def test_an_edit_naming_unknown_sections_is_refused(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.flagged_ids[0]
    before = snapshot(desk.url)
    data = _form(client, desk, item_id, **{"section:nope": "text"})
    response = client.post(f"/items/{item_id}/edit", data=data)
    assert response.status_code == 422 and "unknown section" in response.text
    response = client.post(f"/items/{item_id}/approve", data={"csrf_token": data["csrf_token"]})
    assert response.status_code == 400 and "version" in response.text
    assert snapshot(desk.url) == before


def test_regenerate_runs_a_round_in_the_background(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[2]
    notes = "Mention that it is near the river."
    response = client.post(
        f"/items/{item_id}/regenerate", data=_form(client, desk, item_id, notes=notes)
    )
    assert response.status_code == 303
    wait_for(lambda: item_detail(desk.url, item_id).status == ItemStatus.PENDING_REVIEW)
    detail = item_detail(desk.url, item_id)
    assert detail.generation_round == 2
    assert detail.reviews[-1].decision == "regenerate" and detail.reviews[-1].reason == notes
    assert any(
        notes in (r.messages[-1].content if r.messages else r.prompt or "")
        for r in desk.generator.history
    )
    assert {g.generation_round for g in detail.generations} == {1, 2}


def test_regeneration_needs_notes(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    item_id = desk.clean_ids[0]
    before = snapshot(desk.url)
    response = client.post(
        f"/items/{item_id}/regenerate", data=_form(client, desk, item_id, notes=" ")
    )
    assert response.status_code == 422 and "needs notes" in response.text
    assert snapshot(desk.url) == before and desk.generator.calls == 0


def test_bulk_approve_skips_failing_and_changed_items(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    queue = client.get("/queue")
    token = csrf_of(queue.text)
    picked = [*desk.clean_ids[:3], desk.flagged_ids[0]]
    data: dict[str, str | list[str]] = {
        "csrf_token": token,
        "return_to": f"/queue?batch={desk.batch_id}",
        "item_id": [str(i) for i in picked],
    }
    for item_id in picked:
        data[f"version_{item_id}"] = str(version_of(desk.url, item_id))
    data[f"version_{desk.clean_ids[2]}"] = "1"  # as if someone changed it since
    response = client.post("/queue/approve", data=data)
    assert (
        response.status_code == 303
        and response.headers["location"] == f"/queue?batch={desk.batch_id}"
    )
    page = client.get(response.headers["location"]).text
    assert f"Approved 2 item(s) ({desk.clean_ids[0]}, {desk.clean_ids[1]})" in page
    assert "Skipped 2" in page and "failing check" in page
    statuses = {i: item_detail(desk.url, i).status for i in picked}
    assert statuses == {
        desk.clean_ids[0]: "approved",
        desk.clean_ids[1]: "approved",
        desk.clean_ids[2]: "pending_review",
        desk.flagged_ids[0]: "pending_review",
    }
    response = client.post(
        "/queue/approve", data={"csrf_token": token, "return_to": "https://evil.example"}
    )
    assert response.headers["location"] == "/queue"
    assert "Select the items to approve first." in client.get("/queue").text
