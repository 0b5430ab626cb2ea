"""The `regenerate-requested` flow under Prefect: a round for every item editors sent back."""

from __future__ import annotations

from copydesk.desk import decisions
from copydesk.desk.item_view import item_detail
from copydesk.settings import get_settings
from copydesk.storage import create_store
from db.models import ItemStatus
from flows.regenerate import regenerate_requested
from tests.support.desk import editor, reviewable_batch
from tests.support.fake_generator import FakeGenerator


def test_the_flow_regenerates_waiting_items_with_their_notes(
    database: str, fake: FakeGenerator
) -> None:
    batch_id, (first, second, third, *_) = reviewable_batch(database, create_store(get_settings()))
    alice, _ = editor(database)
    for item_id, notes in ((first, "Mention the river."), (second, "Say it is cheap.")):
        version = item_detail(database, item_id).version
        decisions.request_regeneration(database, alice, item_id, version, notes)

    result = regenerate_requested(batch_id=batch_id, chunk_size=1)

    assert result == {"items": 2, "regenerated": 2}
    prompts = [r.messages[-1].content for r in fake.history]
    assert any("Mention the river." in p for p in prompts)
    assert any("Say it is cheap." in p for p in prompts)
    for item_id in (first, second):
        detail = item_detail(database, item_id)
        assert (detail.status, detail.generation_round) == (ItemStatus.PENDING_REVIEW, 2)
    assert item_detail(database, third).generation_round == 1
    assert regenerate_requested(batch_id=batch_id) == {"items": 0, "regenerated": 0}
