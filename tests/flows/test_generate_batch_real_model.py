"""The generate-batch flow with the real bundled model (SmolLM2-135M-Instruct) on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.checks.consistency import check_facts_present
from copydesk.checks.invented import check_no_invented_values
from copydesk.content.outline import render_plan
from copydesk.content.types import load_content_type
from copydesk.reports.lineage import describe_item
from db.models import Finding, Generation, Item, Refinement, Revision
from db.session import session_scope
from flows.generate_batch import generate_batch

pytestmark = pytest.mark.slow


HARD_RECORDS = [  # every slot; "no" booleans; prices and ratings that look alike
    "name[The Wrestlers], eatType[coffee shop], food[Japanese], priceRange[£20-25], "
    "customer rating[3 out of 5], area[riverside], familyFriendly[no], near[Raja Indian Cuisine]",
    "name[Zizzi], eatType[pub], food[Fast food], priceRange[less than £20], "
    "customer rating[low], area[city centre], familyFriendly[yes], near[The Sorrento]",
    "name[The Cricketers], eatType[restaurant], priceRange[high], customer rating[average], "
    "familyFriendly[no], near[Ranch]",
]


def test_hard_restaurants_with_the_real_model_end_right_or_flagged(
    database: str, model_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The refine loop with the real bundled model: every final text passes the
    consistency checks (as written, fixed, or the fallback), or goes to review flagged."""
    monkeypatch.setenv("COPYDESK_MODEL_CACHE", str(model_cache))
    source = tmp_path / "hard.csv"
    source.write_text("mr\n" + "".join(f'"{mr}"\n' for mr in HARD_RECORDS), encoding="utf-8")

    summary = generate_batch(
        source=str(source), content_type="restaurant", generation={"max_attempts": 2}
    )

    assert summary["counts"] == {"pending_review": len(HARD_RECORDS)}
    kind = load_content_type("restaurant")
    with session_scope(database) as session:
        generations = session.scalars(select(Generation)).all()
        assert {g.model_id for g in generations} == {"HuggingFaceTB/SmolLM2-135M-Instruct"}
        assert all(g.model_revision and g.model_revision.startswith("sha256:") for g in generations)
        assert all(g.output and g.tokens_out and g.prefect_task_run_id for g in generations)
        refinements = session.scalars(select(Refinement)).all()
        assert len(refinements) == len(HARD_RECORDS)
        for refinement in refinements:
            item = session.get_one(Item, refinement.item_id)
            record = item.input_record
            section = render_plan(kind, record).sections[0]
            errors = [
                f.message
                for f in check_facts_present(section, refinement.text, kind)
                + check_no_invented_values(section, refinement.text, kind, record)
            ]
            stored = session.scalars(
                select(Finding).where(
                    Finding.refinement_id == refinement.id, Finding.severity == "error"
                )
            ).all()
            if refinement.decision == "flagged":
                assert errors and stored  # the editor sees why
            else:
                assert not errors and not stored, (refinement.text, errors)
            final = session.scalars(
                select(Revision).where(Revision.item_id == item.id).order_by(Revision.id.desc())
            ).first()
            assert final is not None and final.object_key
            assert refinement.text in final.text
        item_id = session.scalars(select(Item.id).order_by(Item.id)).first()
    assert item_id is not None
    chain = describe_item(database, item_id)
    for link in (
        "input:",
        "plan ",
        "generation ",
        "refinement ",
        "revision ",
        "@ sha256:",
        "seed ",
        "batches/",
    ):
        assert link in chain
    assert summary["quality"]["fact_error_rate"] <= summary["quality"]["items_flagged"]
