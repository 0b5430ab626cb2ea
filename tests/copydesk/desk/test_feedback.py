"""Feedback exports from a real review history: SFT records, preference pairs, reviews."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from copydesk.desk import decisions
from copydesk.desk.editors import EditorInfo
from copydesk.desk.feedback import export_feedback, write_feedback
from copydesk.errors import CopydeskError
from copydesk.generation.base import GenerationRequest
from copydesk.pipeline.regenerate import regenerate_items
from copydesk.storage import LocalStore, ObjectStore
from db.models import Generation, Item, Review, Revision
from db.session import session_scope
from tests.support.desk import editor, reviewable_batch
from tests.support.fake_generator import FakeGenerator, echo_facts

# Restaurant sample rows: 1 Alimentum, 2 Browns Cambridge, 3 Cocum, 4 Fitzbillies, ...
GOOD_ALIMENTUM = "Alimentum is a place in the city centre. It is not family-friendly."
NOTES = "Say it plainly, in two short sentences."
COCUM_EDIT = (
    "Cocum is an English coffee shop in the moderate price range, with a customer rating "
    "of 3 out of 5. It is not family-friendly."
)
FITZBILLIES_EDIT = (
    "Fitzbillies is a family-friendly coffee shop that serves Chinese food for less than "
    "£20. It is located in the riverside. It has a low customer rating."
)
LINEAGE = {
    "item_id",
    "batch_id",
    "content_type",
    "section",
    "revision_id",
    "review_id",
    "generation_id",
    "model_id",
    "editor",
}


def with_notes_write_well(request: GenerationRequest) -> str:
    """The echo (which fails the checks: the fallback text is kept), except when an editor's
    notes are in the prompt: then a right text for Alimentum."""
    prompt = request.messages[-1].content if request.messages else ""
    return GOOD_ALIMENTUM if "asked for these changes" in prompt else echo_facts(request)


@dataclass
class Desk:
    url: str
    batch_id: int
    alimentum: int  # sent back with notes, regenerated, approved by bob
    browns: int  # approved as it was, by alice
    cocum: int  # edited by alice, approved by bob
    fitzbillies: int  # rejected by alice
    generator: FakeGenerator


def version(url: str, item_id: int) -> int:
    with session_scope(url, readonly=True) as session:
        return session.get_one(Item, item_id).version


def build_desk(url: str, store: ObjectStore) -> Desk:
    generator = FakeGenerator(responder=with_notes_write_well)
    batch_id, ids = reviewable_batch(url, store, generator=generator)
    alice, _ = editor(url, "alice")
    bob, _ = editor(url, "bob")
    alimentum, browns, cocum, fitzbillies = ids[:4]
    decisions.approve(url, alice, browns, version(url, browns))
    edited = decisions.edit(
        url, alice, cocum, version(url, cocum), {"description": COCUM_EDIT}, store
    )
    decisions.approve(url, bob, cocum, edited.version)
    decisions.reject(url, alice, fitzbillies, version(url, fitzbillies), "A list of facts.")
    decisions.request_regeneration(url, alice, alimentum, version(url, alimentum), NOTES)
    assert regenerate_items(url, [alimentum], lambda _: generator, store).done == 1
    decisions.approve(url, bob, alimentum, version(url, alimentum))
    return Desk(url, batch_id, alimentum, browns, cocum, fitzbillies, generator)


def by_item(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    assert len({r["item_id"] for r in records}) == len(records)
    return {r["item_id"]: r for r in records}


def first_attempt(url: str, item_id: int, generation_round: int) -> Generation:
    with session_scope(url, readonly=True) as session:
        return session.scalars(
            select(Generation)
            .where(Generation.item_id == item_id, Generation.generation_round == generation_round)
            .order_by(Generation.attempt)
            .limit(1)
        ).one()


def approval(url: str, item_id: int) -> tuple[Review, Revision]:
    with session_scope(url, readonly=True) as session:
        review = session.scalars(
            select(Review).where(Review.item_id == item_id, Review.decision == "approve")
        ).one()
        return review, session.get_one(Revision, review.revision_id)


def sections_of(url: str, revision_id: int | None) -> dict[str, str]:
    with session_scope(url, readonly=True) as session:
        return dict(session.get_one(Revision, revision_id).sections)


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Desk:
    return build_desk(database_url, LocalStore(tmp_path / "objects"))


def test_sft_pairs_each_approved_section_with_the_prompt_that_produced_it(desk: Desk) -> None:
    records = by_item(list(export_feedback(desk.url, "sft", batch_id=desk.batch_id)))

    assert set(records) == {desk.alimentum, desk.browns, desk.cocum}  # not the rejected one
    for item_id, record in records.items():
        review, revision = approval(desk.url, item_id)
        generation_round = 2 if item_id == desk.alimentum else 1
        first = first_attempt(desk.url, item_id, generation_round)
        assert set(record) >= LINEAGE
        assert record["section"] == "description"
        assert record["completion"] == revision.sections["description"]
        assert record["prompt"] == first.prompt  # what the model got, first attempt
        assert "previous answer had mistakes" not in record["prompt"]
        assert record["messages"] == [
            {"role": "user", "content": record["prompt"]},
            {"role": "assistant", "content": record["completion"]},
        ]
        assert (record["revision_id"], record["review_id"]) == (revision.id, review.id)
        assert (record["generation_id"], record["model_id"]) == (first.id, "fake-model")
        assert (record["batch_id"], record["content_type"]) == (desk.batch_id, "restaurant")
        assert record["generation_round"] == generation_round
    assert records[desk.browns]["editor"] == "alice"
    assert records[desk.cocum]["editor"] == "bob"
    assert records[desk.cocum]["completion"] == COCUM_EDIT
    assert records[desk.cocum]["author_kind"] == "editor"
    regenerated = records[desk.alimentum]
    assert regenerated["completion"] == GOOD_ALIMENTUM
    assert regenerated["prompt"].endswith(NOTES)  # the round's prompt carried the notes
    assert regenerated["prompt"] == desk.generator.history[-1].messages[-1].content


def test_preference_pairs_come_from_edits_and_regenerations(desk: Desk) -> None:
    records = list(export_feedback(desk.url, "preference", batch_id=desk.batch_id))

    assert sorted(r["source"] for r in records) == ["edit", "regeneration"]
    pairs = by_item(records)
    edit = pairs[desk.cocum]
    review, revision = approval(desk.url, desk.cocum)
    assert edit["chosen"] == COCUM_EDIT
    assert edit["rejected"] == sections_of(desk.url, revision.parent_id)["description"]
    assert edit["rejected_revision_id"] == revision.parent_id
    assert (edit["revision_id"], edit["review_id"], edit["editor"]) == (
        revision.id,
        review.id,
        "bob",
    )
    assert edit["prompt"] == first_attempt(desk.url, desk.cocum, 1).prompt
    assert edit["reason"] is None and edit["rejected_review_id"] is None
    assert edit["rejected_author_kind"] == "refiner"  # the fallback the refiner chose

    regeneration = pairs[desk.alimentum]
    with session_scope(desk.url, readonly=True) as session:
        sent_back = session.scalars(
            select(Review).where(Review.item_id == desk.alimentum, Review.decision == "regenerate")
        ).one()
    assert regeneration["chosen"] == GOOD_ALIMENTUM
    assert regeneration["rejected"] == sections_of(desk.url, sent_back.revision_id)["description"]
    assert regeneration["rejected"] != GOOD_ALIMENTUM
    assert (regeneration["rejected_review_id"], regeneration["reason"]) == (sent_back.id, NOTES)
    first = first_attempt(desk.url, desk.alimentum, 1)  # the prompt the rejected text answered
    assert regeneration["prompt"] == first.prompt and NOTES not in regeneration["prompt"]
    assert (regeneration["generation_id"], regeneration["generation_round"]) == (first.id, 1)
    assert set(regeneration) >= LINEAGE


def test_jsonl_lists_every_review_with_its_revision(desk: Desk) -> None:
    records = list(export_feedback(desk.url, "jsonl", batch_id=desk.batch_id))

    decided = [(r["item_id"], r["decision"], r["editor"]) for r in records]
    assert decided == [
        (desk.browns, "approve", "alice"),
        (desk.cocum, "edit", "alice"),
        (desk.cocum, "approve", "bob"),
        (desk.fitzbillies, "reject", "alice"),
        (desk.alimentum, "regenerate", "alice"),
        (desk.alimentum, "approve", "bob"),
    ]
    with session_scope(desk.url, readonly=True) as session:
        for record in records:
            revision = session.get_one(Revision, record["revision_id"])
            assert record["text"] == revision.text
            assert record["sections"] == [
                {"section": name, "text": text} for name, text in revision.sections.items()
            ]
            parent = session.get(Revision, revision.parent_id) if revision.parent_id else None
            assert record["parent_text"] == (parent.text if parent else None)
            assert record["batch_id"] == desk.batch_id and record["created_at"]
    edit = records[1]
    assert edit["author_kind"] == "editor" and COCUM_EDIT in edit["text"]
    assert edit["edit_diff"].startswith("--- model") and COCUM_EDIT in edit["edit_diff"]
    assert records[3]["reason"] == "A list of facts." and records[4]["reason"] == NOTES
    assert GOOD_ALIMENTUM in records[5]["text"]
    assert GOOD_ALIMENTUM not in records[5]["parent_text"]  # round 1's text


def test_files_load_as_hugging_face_datasets(desk: Desk, tmp_path: Path) -> None:
    from datasets import load_dataset

    expected = {
        "sft": (3, {"prompt", "completion", "messages"} | LINEAGE),
        "preference": (2, {"prompt", "chosen", "rejected", "source"} | LINEAGE),
        "jsonl": (6, {"decision", "reason", "editor", "text", "sections", "parent_text"}),
    }
    for fmt, (rows, columns) in expected.items():
        path = tmp_path / f"{fmt}.jsonl"
        assert write_feedback(desk.url, fmt, path, batch_id=desk.batch_id) == rows
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == rows and all(json.loads(line) for line in lines)
        dataset = load_dataset(
            "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf")
        )
        assert dataset.num_rows == rows
        assert columns <= set(dataset.column_names), fmt
    assert not list(tmp_path.glob(".*.partial"))


def test_a_rejected_item_approved_in_a_later_round_gives_a_rejection_pair(
    tmp_path: Path,
) -> None:
    """A rejected item sent back with notes, regenerated, edited and approved."""
    url, store = f"sqlite:///{tmp_path / 'desk.db'}", LocalStore(tmp_path / "objects")
    desk = build_desk(url, store)
    alice = EditorInfo(*_editor_row(url, "alice"))
    decisions.request_regeneration(
        url, alice, desk.fitzbillies, version(url, desk.fitzbillies), "Mention the pastries."
    )
    regenerate_items(url, [desk.fitzbillies], lambda _: desk.generator, store)
    edited = decisions.edit(
        url,
        alice,
        desk.fitzbillies,
        version(url, desk.fitzbillies),
        {"description": FITZBILLIES_EDIT},
        store,
    )
    assert edited.check_errors == 0, edited.findings
    decisions.approve(url, alice, desk.fitzbillies, edited.version)

    pairs = [
        r
        for r in export_feedback(url, "preference", batch_id=desk.batch_id)
        if r["item_id"] == desk.fitzbillies
    ]

    assert sorted(p["source"] for p in pairs) == ["edit", "rejection"]
    rejection = next(p for p in pairs if p["source"] == "rejection")
    assert rejection["chosen"] == FITZBILLIES_EDIT
    assert rejection["reason"] == "A list of facts." and rejection["generation_round"] == 1


def test_unknown_format_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(CopydeskError, match="unknown feedback format 'dpo'"):
        export_feedback(f"sqlite:///{tmp_path / 'none.db'}", "dpo")
    stream = io.StringIO()
    with pytest.raises(CopydeskError):
        write_feedback(f"sqlite:///{tmp_path / 'none.db'}", "csv", stream)
    assert stream.getvalue() == ""


def _editor_row(url: str, name: str) -> tuple[int, str, Any]:
    from db.models import Editor, Role

    with session_scope(url, readonly=True) as session:
        row = session.scalars(select(Editor).where(Editor.name == name)).one()
        return row.id, row.name, Role(row.role)
