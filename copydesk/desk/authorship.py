"""Who wrote a text, in the words an editor reads: the model (and its version), the
template fallback, the refiner's fixes, an editor; per revision, per section, and for
what a revision's changes show."""

from __future__ import annotations

from collections.abc import Collection

from db.models import AuthorKind, RefineDecision


def model_words(model_version: str | None) -> str:
    return f"the model (version {model_version})" if model_version else "the base model"


def revision_author_words(
    kind: str, author: str, model_version: str | None, decisions: Collection[str] = ()
) -> str:
    """Who made a revision: the model, the template fallback and/or the refiner's fixes
    (from the refine decisions of the sections it changed), or an editor."""
    if kind == AuthorKind.EDITOR:
        return f"editor {author}"
    if kind == AuthorKind.MODEL:
        return model_words(model_version)
    fallback, fixes = _refined(decisions)
    if fallback and fixes:
        return "the template fallback and the refiner's fixes to the model's text"
    if fallback:
        return "the template fallback"
    return "the refiner's fixes to the model's text"


def changes_words(kind: str, author_words: str, decisions: Collection[str] = ()) -> str:
    """What a revision's diff from its parent shows (`decisions` as for the author)."""
    if kind == AuthorKind.EDITOR:
        return f"changes by {author_words}"
    if kind == AuthorKind.MODEL:
        return f"the new text by {author_words}, after the editor's notes"
    fallback, fixes = _refined(decisions)
    if fallback and fixes:
        return "the template fallback and the refiner's changes"
    if fallback:
        return "the template fallback in place of the model's text"
    return "the refiner's changes"


def _refined(decisions: Collection[str]) -> tuple[bool, bool]:
    """Whether a refiner's revision holds template fallback text, and the refiner's fixes
    (passed sections are the model's text as is; fixed and flagged ones are polished)."""
    fallback = RefineDecision.FALLBACK in decisions
    return fallback, any(d != RefineDecision.FALLBACK for d in decisions)


def section_author_words(
    decision: str | None, model_version: str | None, editor: str | None = None
) -> str:
    """Who wrote a section's current text, from the refine decision (or the editor)."""
    model = model_words(model_version)
    words: dict[str, str] = {
        RefineDecision.PASSED: f"written by {model}",
        RefineDecision.FIXED: f"written by {model}, with small fixes by the refiner",
        RefineDecision.FALLBACK: "written by the template fallback: the model's text did "
        "not pass the checks",
        RefineDecision.FLAGGED: f"the best attempt of {model}, still failing checks",
    }
    if editor is not None:
        return f"edited by editor {editor}"
    return words.get(decision, "") if decision is not None else ""
