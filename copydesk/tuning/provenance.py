"""Who wrote an approved section's text: an editor, the model, or the template fallback.

`export-feedback` labels a revision by the kind of its author (model, refiner, editor);
a refiner revision holds what refinement chose, which is the model's text (as it was or
with safe fixes) or the content type's template realisation (the fallback). The
refinement rows tell them apart: a section whose text is its refinement's text was
written by the model, or by the template when refinement fell back.

This is the one read query tuning needs beyond the feedback export: items' input
hashes and their sections' refinements, a chunk of items at a time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from db.models import AuthorKind, Item, RefineDecision, Refinement
from db.session import session_scope

Writer = Literal["editor", "model", "template"]


@dataclass
class ItemProvenance:
    input_sha256: str
    # (section, generation round) -> (refinement decision, its text)
    refined: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)


def load_provenance(url: str, item_ids: Collection[int]) -> dict[int, ItemProvenance]:
    """Input hash and refinements of each item (one short read-only transaction)."""
    found: dict[int, ItemProvenance] = {}
    if not item_ids:
        return found
    ids = sorted(item_ids)
    with session_scope(url, readonly=True) as session:
        for item_id, input_sha256 in session.execute(
            select(Item.id, Item.input_sha256).where(Item.id.in_(ids))
        ):
            found[item_id] = ItemProvenance(input_sha256)
        rows = select(
            Refinement.item_id,
            Refinement.section,
            Refinement.generation_round,
            Refinement.decision,
            Refinement.text,
        ).where(Refinement.item_id.in_(ids))
        for item_id, section, generation_round, decision, text in session.execute(rows):
            found[item_id].refined[(section, generation_round)] = (decision, text)
    return found


def author_of(record: dict[str, Any], provenance: ItemProvenance | None) -> Writer:
    """The writer of an `sft` record's text.

    An editor's revision keeps the sections it did not change: a section whose text is
    still its refinement's was written by the model or the template, not the editor."""
    kind = record["author_kind"]
    refined = None
    if provenance is not None:
        refined = provenance.refined.get((record["section"], record["generation_round"]))
    if refined is not None:
        decision, text = refined
        if kind != AuthorKind.EDITOR or text.strip() == record["completion"].strip():
            return "template" if decision == RefineDecision.FALLBACK else "model"
    return "editor" if kind == AuthorKind.EDITOR else "model"
