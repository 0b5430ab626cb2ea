"""The output stage on its own: which attempt a section's text comes from, and the chain of
revisions (model, then refiner) an item gets on its way to review."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from copydesk.pipeline.output import best_generations
from copydesk.storage import LocalStore
from db.models import AuthorKind, ItemStatus, Revision
from db.repository import GenerationRow
from db.session import session_scope
from tests.support.desk import reviewable_batch


def generation(id_: int, section: str, round_: int = 1) -> GenerationRow:
    return GenerationRow(id_, 1, section, 1, 0, round_, f"text {id_}", None, "model")


def test_best_generations_takes_the_fewest_errors_and_the_latest_on_a_tie() -> None:
    generations = [
        generation(1, "intro"),
        generation(2, "intro"),
        generation(3, "intro"),
        generation(4, "body"),
        generation(5, "body"),
        generation(6, "body", round_=2),  # another round: not a candidate for round 1
    ]
    errors = {1: 0, 2: 2, 3: 0, 4: 1, 5: 3}

    best = best_generations(generations, 1, errors)

    assert {name: g.id for name, g in best.items()} == {"intro": 3, "body": 4}
    assert {name: g.id for name, g in best_generations(generations, 2, errors).items()} == {
        "body": 6
    }
    assert best_generations([], 1, {}) == {}


def _revision_ids(url: str) -> dict[int, list[int]]:
    return {item: [r.id for r in chain] for item, chain in _revisions(url).items()}


def _revisions(url: str) -> dict[int, list[Revision]]:
    with session_scope(url, readonly=True) as session:
        chains: dict[int, list[Revision]] = {}
        for revision in session.scalars(select(Revision).order_by(Revision.id)):
            chains.setdefault(revision.item_id, []).append(revision)
        return chains


def test_a_refined_text_is_a_refiner_revision_whose_parent_is_the_models(
    database_url: str, tmp_path: Path
) -> None:
    from db import migrate

    migrate.upgrade(database_url)
    store = LocalStore(tmp_path / "store")
    # the fake echoes the facts: most restaurant sections fail the checks and end on the
    # fallback (model → refiner), one passes as the model wrote it (model only)
    _, ids = reviewable_batch(database_url, store)

    chains = _revisions(database_url)
    assert sorted(chains) == sorted(ids)
    assert sorted({len(chain) for chain in chains.values()}) == [1, 2]
    for item_id in ids:
        *before, final = chains[item_id]
        assert store.get(final.object_key).decode() == final.text  # the final text is stored
        assert "markdown" in final.outputs
        if not before:
            assert (final.author_kind, final.parent_id) == (AuthorKind.MODEL, None)
            continue
        (model,) = before
        assert (model.author_kind, model.parent_id) == (AuthorKind.MODEL, None)
        assert (final.author_kind, final.parent_id) == (AuthorKind.REFINER, model.id)
        assert model.text.startswith("## ") and "This item:" in model.text
        assert "This item:" not in final.text
        assert model.object_key is None  # the raw text is kept in the row only


def test_output_again_adds_no_revision(database_url: str, tmp_path: Path) -> None:
    from copydesk.content.types import load_content_type
    from copydesk.pipeline.output import output_chunk

    store = LocalStore(tmp_path / "store")
    _, ids = reviewable_batch(database_url, store)
    before = _revision_ids(database_url)

    counts = output_chunk(database_url, ids, load_content_type("restaurant"), store)

    assert counts.done == 0  # none is still refined: nothing to do
    assert _revision_ids(database_url) == before
    with session_scope(database_url, readonly=True) as session:
        from db.models import Item

        statuses = set(session.scalars(select(Item.status).where(Item.id.in_(ids))))
    assert statuses == {ItemStatus.PENDING_REVIEW}
