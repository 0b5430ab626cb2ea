"""Regeneration with an editor's notes: a new round through the same generate → refine →
output stages, the notes in every prompt, nothing of the earlier rounds overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.desk import decisions
from copydesk.desk.item_view import item_detail
from copydesk.generation.backends import create_text_generator
from copydesk.generation.base import GenerationRequest
from copydesk.pipeline.regenerate import regenerate_items, waiting_items
from copydesk.settings import get_settings
from copydesk.storage import LocalStore
from db.models import Generation, ItemStatus, Refinement
from db.session import session_scope
from tests.support.desk import editor, flagged_batch, reviewable_batch
from tests.support.fake_generator import FakeGenerator

NOTES = "Speak to beginners and mention the watering schedule."


def _prompt(request: GenerationRequest) -> str:
    return request.messages[-1].content if request.messages else request.prompt or ""


def test_a_regeneration_round_uses_the_notes_and_keeps_the_history(
    database_url: str, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "objects")
    _, (item_id, other, *_) = flagged_batch(database_url, store)
    alice, _ = editor(database_url)
    before = item_detail(database_url, item_id)
    decisions.request_regeneration(database_url, alice, item_id, before.version, NOTES)
    assert waiting_items(database_url) == [item_id]

    generator = FakeGenerator()
    counts = regenerate_items(database_url, [item_id, other], lambda _: generator, store)
    assert counts.done == 1  # `other` was not waiting: untouched

    assert generator.history and all(NOTES in _prompt(r) for r in generator.history)
    after = item_detail(database_url, item_id)
    assert after.status == ItemStatus.PENDING_REVIEW and after.generation_round == 2
    assert waiting_items(database_url) == []
    # New revisions hang under the one the editor sent back.
    new = [r for r in after.revisions if r.id not in {o.id for o in before.revisions}]
    assert new and new[0].parent_id == before.revisions[-1].id
    assert after.current is not None and after.current.id == new[-1].id
    with session_scope(database_url, readonly=True) as session:
        rounds = session.execute(
            select(Generation.section, Generation.attempt, Generation.generation_round)
            .where(Generation.item_id == item_id)
            .order_by(Generation.id)
        ).all()
        refinements = session.execute(
            select(Refinement.section, Refinement.generation_round).where(
                Refinement.item_id == item_id
            )
        ).all()
    # Attempts go on from round 1 instead of starting again (round 2 may retry: 3 attempts).
    for section in {s for s, _, _ in rounds}:
        first = [a for s, a, r in rounds if s == section and r == 1]
        second = [a for s, a, r in rounds if s == section and r == 2]
        assert second == list(range(max(first) + 1, max(first) + 1 + len(second)))
    assert sorted(r for _, r in refinements) == [1] * len(before.sections) + [2] * len(
        before.sections
    )
    assert item_detail(database_url, other).generation_round == 1


def test_regenerated_items_can_be_approved_when_clean(database_url: str, tmp_path: Path) -> None:
    """A round that passes its checks clears the errors the item had before."""
    store = LocalStore(tmp_path / "objects")
    _, (item_id, *_) = reviewable_batch(database_url, store)
    alice, _ = editor(database_url)
    decisions.request_regeneration(
        database_url, alice, item_id, item_detail(database_url, item_id).version, "Shorter."
    )
    regenerate_items(database_url, [item_id], lambda _: FakeGenerator(), store)
    detail = item_detail(database_url, item_id)
    assert detail.check_errors == 0
    decisions.approve(database_url, alice, item_id, detail.version)
    assert item_detail(database_url, item_id).status == ItemStatus.APPROVED


@pytest.mark.slow
def test_a_regeneration_round_with_the_real_bundled_model(
    tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same path with the real model: the notes reach the model's chat prompt and the
    item comes back to review with a round-2 text that passes its checks or is flagged."""
    monkeypatch.setenv("COPYDESK_MODEL_CACHE", str(model_cache))
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    store = LocalStore(tmp_path / "objects")
    source = tmp_path / "one.csv"
    source.write_text(
        'mr\n"name[Cocum], eatType[coffee shop], area[riverside], familyFriendly[yes]"\n',
        encoding="utf-8",
    )
    generator = create_text_generator(get_settings())
    _, (item_id,) = reviewable_batch(url, store, source=source, max_attempts=2, generator=generator)
    alice, _ = editor(url)
    notes = "Say that families are welcome."
    decisions.request_regeneration(url, alice, item_id, item_detail(url, item_id).version, notes)

    assert regenerate_items(url, [item_id], lambda _: generator, store).done == 1

    detail = item_detail(url, item_id)
    assert (detail.status, detail.generation_round) == (ItemStatus.PENDING_REVIEW, 2)
    second = [g for g in detail.generations if g.generation_round == 2]
    assert second and all(notes in g.prompt for g in second)  # the chat-templated prompt
    assert {g.model_id for g in second} == {"HuggingFaceTB/SmolLM2-135M-Instruct"}
    decision = detail.sections[0].decision
    assert decision in {"passed", "fixed", "fallback", "flagged"}
    assert (detail.check_errors == 0) == (decision != "flagged")


def test_a_round_writes_with_the_batch_model_version(database_url: str, tmp_path: Path) -> None:
    from db.models import Batch

    store = LocalStore(tmp_path / "objects")
    batch_id, (item_id, *_) = flagged_batch(database_url, store)
    with session_scope(database_url) as session:  # as if the batch wrote with version 7
        batch = session.get_one(Batch, batch_id)
        batch.options = dict(batch.options) | {"model_version_id": 7}
    alice, _ = editor(database_url)
    version = item_detail(database_url, item_id).version
    decisions.request_regeneration(database_url, alice, item_id, version, NOTES)

    asked: list[int | None] = []

    def generator_for(version_id: int | None) -> FakeGenerator:
        asked.append(version_id)
        return FakeGenerator()

    assert regenerate_items(database_url, [item_id], generator_for, store).done == 1
    assert asked == [7]  # not the base model
