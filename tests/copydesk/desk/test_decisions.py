"""Editors' decisions on plain functions, on SQLite and PostgreSQL: roles, required reasons,
failing checks blocking approval until an edit fixes them, and optimistic locking (two
editors deciding one item at once: one wins, the other gets a conflict, nothing is lost)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from copydesk.checks.suite import run_section_checks
from copydesk.content.outline import Outline
from copydesk.content.types import load_content_type
from copydesk.desk import decisions
from copydesk.desk.decisions import ConflictError, DecisionError
from copydesk.desk.editors import PermissionDenied
from copydesk.desk.item_view import item_detail
from copydesk.storage import LocalStore
from db import repository as repo
from db.models import Finding, Item, ItemStatus, Review, Revision, Role
from db.session import session_scope
from tests.support.desk import editor, flagged_batch, reviewable_batch


def _version(url: str, item_id: int) -> int:
    with session_scope(url, readonly=True) as session:
        return session.get_one(Item, item_id).version


def _reviews(url: str, item_id: int) -> list[tuple[str, str | None]]:
    with session_scope(url, readonly=True) as session:
        rows = session.scalars(select(Review).where(Review.item_id == item_id).order_by(Review.id))
        return [(r.decision, r.reason) for r in rows]


def _status(url: str, item_id: int) -> str:
    with session_scope(url, readonly=True) as session:
        return session.get_one(Item, item_id).status


def test_approve_and_reject_record_reviews(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _, (first, second, *_) = reviewable_batch(database_url, store)
    alice, _ = editor(database_url)

    approved = decisions.approve(database_url, alice, first, _version(database_url, first))
    assert approved.status == ItemStatus.APPROVED
    assert _reviews(database_url, first) == [("approve", None)]

    with pytest.raises(DecisionError, match="reason"):
        decisions.reject(database_url, alice, second, _version(database_url, second), "  ")
    assert _reviews(database_url, second) == []
    decisions.reject(database_url, alice, second, _version(database_url, second), "Too bland.")
    assert _status(database_url, second) == ItemStatus.REJECTED
    assert _reviews(database_url, second) == [("reject", "Too bland.")]


def test_the_review_names_the_revision_decided_on(database_url: str, tmp_path: Path) -> None:
    _, (item_id, *_) = reviewable_batch(database_url, LocalStore(tmp_path / "objects"))
    alice, _ = editor(database_url)
    decided = decisions.approve(database_url, alice, item_id, _version(database_url, item_id))
    with session_scope(database_url, readonly=True) as session:
        review = session.get_one(Review, decided.review_id)
        latest = session.scalars(
            select(Revision.id).where(Revision.item_id == item_id).order_by(Revision.id.desc())
        ).first()
        assert review.revision_id == latest and review.editor.name == "alice"


def test_viewers_cannot_decide(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _, (item_id, *_) = reviewable_batch(database_url, store)
    viewer, _ = editor(database_url, "vic", Role.VIEWER)
    version = _version(database_url, item_id)
    attempts: list[Callable[[], Any]] = [
        lambda: decisions.approve(database_url, viewer, item_id, version),
        lambda: decisions.reject(database_url, viewer, item_id, version, "no"),
        lambda: decisions.request_regeneration(database_url, viewer, item_id, version, "x"),
        lambda: decisions.edit(database_url, viewer, item_id, version, {}, store),
        lambda: decisions.bulk_approve(database_url, viewer, [(item_id, version)]),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="vic is a viewer"):
            attempt()
    assert _reviews(database_url, item_id) == [] and _version(database_url, item_id) == version


def test_a_stale_version_is_a_conflict(database_url: str, tmp_path: Path) -> None:
    _, (item_id, *_) = reviewable_batch(database_url, LocalStore(tmp_path / "objects"))
    alice, _ = editor(database_url)
    bob, _ = editor(database_url, "bob")
    seen = _version(database_url, item_id)
    decisions.reject(database_url, alice, item_id, seen, "Wrong tone.")
    with pytest.raises(ConflictError, match=r"changed since you loaded it \(reject by alice\)"):
        decisions.approve(database_url, bob, item_id, seen)
    assert _reviews(database_url, item_id) == [("reject", "Wrong tone.")]
    assert _status(database_url, item_id) == ItemStatus.REJECTED


def test_two_concurrent_decisions_give_one_conflict_and_no_lost_update(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both editors load version v and decide at the same moment. On PostgreSQL both
    transactions read the row before either writes (a barrier holds them there), so the
    loser is caught by the versioned UPDATE; on SQLite the second waits for the write lock
    and then sees the new version. Either way: one decision, one conflict."""
    _, (item_id, *_) = reviewable_batch(database_url, LocalStore(tmp_path / "objects"))
    alice, _ = editor(database_url)
    bob, _ = editor(database_url, "bob")
    version = _version(database_url, item_id)

    barrier = threading.Barrier(2, timeout=3)
    pending = decisions._pending

    def pending_then_wait(session: Any, item_id: int, version: int, *args: Any) -> Item:
        item = pending(session, item_id, version, *args)
        # Both have read the item (PostgreSQL), or the other waits for SQLite's write lock.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return item

    monkeypatch.setattr(decisions, "_pending", pending_then_wait)
    outcomes: dict[str, object] = {}

    def decide(name: str, call: Callable[[], object]) -> None:
        try:
            outcomes[name] = call()
        except Exception as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(
            target=decide,
            args=("alice", lambda: decisions.approve(database_url, alice, item_id, version)),
        ),
        threading.Thread(
            target=decide,
            args=("bob", lambda: decisions.reject(database_url, bob, item_id, version, "No.")),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    if database_url.startswith("postgresql"):
        assert not barrier.broken  # both really read version v before either wrote
    conflicts = [o for o in outcomes.values() if isinstance(o, ConflictError)]
    wins = [o for o in outcomes.values() if isinstance(o, decisions.Decided)]
    assert len(conflicts) == 1 and len(wins) == 1, outcomes
    assert len(_reviews(database_url, item_id)) == 1
    assert _status(database_url, item_id) == wins[0].status
    assert _version(database_url, item_id) == wins[0].version == version + 1


def test_failing_checks_block_approval_until_an_edit_fixes_them(
    database_url: str, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "objects")
    _, (item_id, *_) = flagged_batch(database_url, store)
    alice, _ = editor(database_url)
    detail = item_detail(database_url, item_id)
    assert detail.check_errors > 0
    with pytest.raises(DecisionError, match="failing check"):
        decisions.approve(database_url, alice, item_id, detail.version)

    # A careless edit: still failing, stored as an editor revision with its findings.
    careless = {s.name: "Better now." for s in detail.sections}
    edited = decisions.edit(database_url, alice, item_id, detail.version, careless, store)
    assert edited.check_errors > 0 and edited.status == ItemStatus.PENDING_REVIEW
    with pytest.raises(DecisionError, match="failing check"):
        decisions.approve(database_url, alice, item_id, edited.version)

    fixed = decisions.edit(
        database_url,
        alice,
        item_id,
        edited.version,
        _passing_sections(database_url, item_id),
        store,
    )
    assert fixed.check_errors == 0, fixed.findings
    decisions.approve(database_url, alice, item_id, fixed.version)

    after = item_detail(database_url, item_id)
    assert after.status == ItemStatus.APPROVED
    assert [r.author_kind for r in after.revisions][-2:] == ["editor", "editor"]
    assert after.current is not None and after.current.author == "alice"
    assert [r.decision for r in after.reviews] == ["edit", "edit", "approve"]
    edit_review = after.reviews[1]
    assert edit_review.edit_diff and edit_review.edit_diff.startswith("--- model\n+++ editor")
    # The edited documents are in the store and the findings point at the editor revision.
    assert store.get(after.current.outputs["markdown"]["key"]).decode() == after.current.text
    with session_scope(database_url, readonly=True) as session:
        on_careless = session.scalar(
            select(func.count()).where(Finding.revision_id == after.revisions[-2].id)
        )
        assert on_careless and on_careless > 0


FILLERS = [
    "Start small and learn as you go.",
    "Most people find the first week the hardest part.",
    "A little planning saves a lot of time later on.",
    "Keep notes so you can see what works for you.",
    "Ask a friend to join you for extra motivation.",
    "Small habits grow into lasting results over months.",
    "Nobody gets everything right on the first try.",
    "Pick one change at a time and stick with it.",
    "Check your progress every few weeks and adjust.",
    "Good tools help, but patience helps even more.",
]


def _passing_sections(url: str, item_id: int) -> dict[str, str]:
    """Section texts that carry every fact and meet the length targets."""
    detail = item_detail(url, item_id)
    kind = load_content_type(detail.content_type)
    with session_scope(url, readonly=True) as session:
        plan_row = repo.latest_plan(session=session, item_id=item_id)
        assert plan_row is not None
        plans = Outline.from_dict(plan_row.outline).sections
    texts = {}
    for plan in plans:
        facts = []
        for value in plan.facts.values():
            facts.extend(value if isinstance(value, list) else [value])
        sentences = [f"{fact.capitalize()} matters." for fact in facts] or ["Read on."]
        fillers = iter(FILLERS)
        while len(" ".join(sentences).split()) < (plan.min_words or 0):
            sentences.append(next(fillers))
        text = " ".join(sentences)
        errors = [
            f for f in run_section_checks(plan, text, kind, detail.record) if f.severity == "error"
        ]
        assert not errors, (plan.name, errors)
        texts[plan.name] = text
    return texts


def test_edit_refuses_unknown_or_missing_sections(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _, (item_id, *_) = reviewable_batch(database_url, store)
    alice, _ = editor(database_url)
    version = _version(database_url, item_id)
    with pytest.raises(DecisionError, match="unknown section"):
        decisions.edit(database_url, alice, item_id, version, {"nope": "x"}, store)
    with pytest.raises(DecisionError, match="lacks section"):
        decisions.edit(database_url, alice, item_id, version, {}, store)
    assert _version(database_url, item_id) == version


def test_bulk_approve_skips_failing_and_stale_items(database_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _, clean = reviewable_batch(database_url, store)
    _, (flagged, *_) = flagged_batch(database_url, store)
    alice, _ = editor(database_url)
    stale = clean[2]
    decisions.reject(database_url, alice, stale, _version(database_url, stale), "Off.")
    chosen = [(i, _version(database_url, i)) for i in clean[:2]]
    chosen += [(flagged, _version(database_url, flagged)), (stale, 1)]
    result = decisions.bulk_approve(database_url, alice, chosen)
    assert result.approved == clean[:2]
    assert set(result.skipped) == {flagged, stale}
    assert "failing check" in result.skipped[flagged]
    assert "changed since you loaded it" in result.skipped[stale]


def test_regeneration_needs_notes_and_waits_in_its_status(
    database_url: str, tmp_path: Path
) -> None:
    _, (item_id, *_) = reviewable_batch(database_url, LocalStore(tmp_path / "objects"))
    alice, _ = editor(database_url)
    version = _version(database_url, item_id)
    with pytest.raises(DecisionError, match="notes"):
        decisions.request_regeneration(database_url, alice, item_id, version, "")
    decisions.request_regeneration(database_url, alice, item_id, version, "Shorter, please.")
    assert _status(database_url, item_id) == ItemStatus.REGENERATE
    assert _reviews(database_url, item_id) == [("regenerate", "Shorter, please.")]


def test_a_rejected_item_can_be_sent_back_with_notes(database_url: str, tmp_path: Path) -> None:
    _, (item_id, *_) = reviewable_batch(database_url, LocalStore(tmp_path / "objects"))
    alice, _ = editor(database_url)
    decisions.reject(database_url, alice, item_id, _version(database_url, item_id), "Flat.")
    with pytest.raises(ConflictError, match="it is now rejected"):
        decisions.approve(database_url, alice, item_id, _version(database_url, item_id))
    decisions.request_regeneration(
        database_url, alice, item_id, _version(database_url, item_id), "Livelier."
    )
    assert _status(database_url, item_id) == ItemStatus.REGENERATE
