"""Who wrote a text, in an editor's words."""

from __future__ import annotations

from copydesk.desk.authorship import (
    changes_words,
    revision_author_words,
    section_author_words,
)


def test_author_words_name_every_kind_and_the_model_version() -> None:
    assert revision_author_words("model", "fake-model", None) == "the base model"
    assert (
        revision_author_words("model", "fake-model", "restaurant-e2e")
        == "the model (version restaurant-e2e)"
    )
    assert revision_author_words("refiner", "copydesk-refiner", None, ["fallback"]) == (
        "the template fallback"
    )
    assert revision_author_words("refiner", "copydesk-refiner", None, ["fixed"]) == (
        "the refiner's fixes to the model's text"
    )
    assert revision_author_words("refiner", "r", None, ["fallback", "flagged"]) == (
        "the template fallback and the refiner's fixes to the model's text"
    )
    assert revision_author_words("editor", "alice", "v1") == "editor alice"
    assert changes_words("editor", "editor alice") == "changes by editor alice"
    assert changes_words("refiner", "the refiner's fixes", ["fixed"]) == "the refiner's changes"
    assert changes_words("refiner", "the template fallback", ["fallback"]) == (
        "the template fallback in place of the model's text"
    )
    assert section_author_words("passed", "restaurant-e2e") == (
        "written by the model (version restaurant-e2e)"
    )
    assert section_author_words("fixed", None) == (
        "written by the base model, with small fixes by the refiner"
    )
    assert section_author_words("fallback", None).startswith("written by the template fallback")
    assert section_author_words("flagged", None) == (
        "the best attempt of the base model, still failing checks"
    )
    assert section_author_words("passed", None, editor="bob") == "edited by editor bob"
    assert section_author_words(None, None) == ""
