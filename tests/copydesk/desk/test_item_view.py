"""The item view's words and changes: who wrote what, word-level diffs between revisions,
every round's attempts, and a regeneration that gave back the same text."""

from __future__ import annotations

from pathlib import Path

from copydesk.desk import decisions
from copydesk.desk.item_view import item_detail, shown_sections
from copydesk.desk.word_diff import DiffSegment
from copydesk.pipeline.regenerate import regenerate_items
from copydesk.storage import LocalStore
from db.models import Revision
from tests.support.desk import editor, reviewable_batch
from tests.support.fake_generator import FakeGenerator


def _spelled(segments: list[DiffSegment], side: str) -> str:
    return "".join(s.text for s in segments if s.change in ("same", side))


def test_shown_sections_drop_markdown_headings() -> None:
    with_sections = Revision(text="## Alimentum\n\nText.", sections={"b": "B.", "a": "A."})
    assert list(shown_sections(with_sections, ["a", "b"]).items()) == [("a", "A."), ("b", "B.")]
    without = Revision(text="## Alimentum\n\nA pub.\n\n### More\nIt is cheap.", sections={})
    assert shown_sections(without, ["a"]) == {"": "A pub.\n\nIt is cheap."}


def test_item_detail_tells_the_story_of_an_item(database_url: str, tmp_path: Path) -> None:
    """A fallback item (the fake's text misses a fact), edited by an editor, then sent back
    with notes: who wrote each revision, what each diff is against, every round's attempts
    and the reason the model's text was not used."""
    store = LocalStore(tmp_path / "objects")
    _, (item_id, other, *_) = reviewable_batch(database_url, store)
    alice, _ = editor(database_url, "alice")
    first = item_detail(database_url, item_id)
    assert [r.author_words for r in first.revisions] == ["the base model", "the template fallback"]
    (section,) = first.sections
    assert section.decision == "fallback" and section.discarded_because == ["facts_present"]
    assert section.author_words.startswith("written by the template fallback")
    (round_,) = first.rounds
    (attempts,) = round_.sections
    (attempt,) = attempts.attempts
    (candidate,) = attempt.candidates
    assert candidate.text.startswith("This item:") and candidate.chosen and not candidate.used
    assert [f.check for f in candidate.findings] == ["facts_present"]
    assert attempts.discarded_because == ["facts_present"]
    fallback_text = section.text

    edited = fallback_text.replace("city centre", "riverside")
    decisions.edit(database_url, alice, item_id, first.version, {section.name: edited}, store)
    after = item_detail(database_url, item_id)
    current = after.revisions[-1]
    assert current.author_words == "editor alice"
    assert current.changes_words == "changes by editor alice"
    (change,) = current.changes
    # against the fallback text it edited, not the model's discarded text
    assert _spelled(change.segments, "del") == fallback_text
    assert _spelled(change.segments, "ins") == edited
    assert [s.text for s in change.segments if s.change != "same"] == ["city centre", "riverside"]
    assert after.sections[0].author_words == "edited by editor alice"
    assert after.sections[0].discarded_because == []

    version = item_detail(database_url, other).version
    decisions.request_regeneration(database_url, alice, other, version, "Say it is by the river.")
    regenerate_items(database_url, [other], lambda _: FakeGenerator(), store)
    again = item_detail(database_url, other)
    assert [r.number for r in again.rounds] == [1, 2]
    assert (again.rounds[1].asked_by, again.rounds[1].notes) == ("alice", "Say it is by the river.")
    assert [r.generation_round for r in again.revisions] == [1, 1, 2, 2]
    assert (
        again.revisions[2].changes_words
        == "the new text by the base model, after the editor's notes"
    )
    assert again.same_text_as_before  # the fallback wrote the same text again
    assert not first.same_text_as_before and not after.same_text_as_before
