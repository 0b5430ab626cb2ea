"""The loop closed (issue 19's acceptance): a batch; editors approve some items and edit
others through the decisions API; a tune from those approvals (a tiny model built from a
config); the new version promoted; the next batch's generations name it in their
lineage; and `copydesk eval` scores it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.cli.main import main
from copydesk.content.types import load_content_type
from copydesk.desk import decisions
from copydesk.pipeline.batch import batch_generation, start_batch
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.inline import run_stages
from copydesk.pipeline.types import GenerationOptions
from copydesk.reports.lineage import describe_item
from copydesk.settings import Settings
from copydesk.storage import LocalStore
from copydesk.tuning.errors import NoTrainingDataError
from copydesk.tuning.jobs import TuneRequest, run_tune
from copydesk.tuning.promotion import promote
from copydesk.tuning.serving import version_generator
from db.models import Generation, Item, ItemStatus
from db.repository import item_ids
from db.session import session_scope
from tests.copydesk.desk.test_feedback import (
    COCUM_EDIT,
    FITZBILLIES_EDIT,
    GOOD_ALIMENTUM,
    version,
)
from tests.copydesk.tuning.conftest import TWO_STEPS
from tests.support.desk import RESTAURANTS, editor, reviewable_batch

FAST = replace(TWO_STEPS, min_examples=4)
EDITS = {0: GOOD_ALIMENTUM, 2: COCUM_EDIT, 3: FITZBILLIES_EDIT}  # by item position


def cli(*args: str) -> int:
    """`copydesk ARGS` in this process: its exit status."""
    try:
        return main(list(args))
    except SystemExit as exit:
        return int(exit.code or 0)


def review_batch(url: str, store: LocalStore) -> None:
    """Editors approve some items as they are and edit (then approve) the others."""
    _, ids = reviewable_batch(url, store)  # the fake model's text fails: template text
    alice, _ = editor(url, "alice")
    bob, _ = editor(url, "bob")
    for position, item_id in enumerate(ids):
        if position in EDITS:
            edited = decisions.edit(
                url,
                alice,
                item_id,
                version(url, item_id),
                {"description": EDITS[position]},
                store,
            )
            assert edited.check_errors == 0, edited.findings
            decisions.approve(url, bob, item_id, edited.version)
        else:
            decisions.approve(url, alice, item_id, version(url, item_id))


def next_batch(settings: Settings, store: LocalStore) -> int:
    """A new restaurant batch as the flow's tasks run it: the batch resolves its version,
    the stages get the generator for it."""
    url = settings.resolved_database_url
    batch_id = start_batch(url, content_type="restaurant", source=RESTAURANTS, options={})
    ingest_batch(url, batch_id)
    options = GenerationOptions(
        **batch_generation(url, batch_id, {"max_attempts": 1, "candidates": 1})
    )
    with session_scope(url, readonly=True) as session:
        ids = item_ids(session=session, batch_id=batch_id, statuses=(ItemStatus.INGESTED,))
    generator = version_generator(settings, options.model_version_id)
    run_stages(url, ids[:3], load_content_type("restaurant"), generator, store, options)
    return batch_id


def test_approvals_tune_a_version_that_writes_the_next_batch(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url, store = settings.resolved_database_url, LocalStore(settings.resolved_store_path)
    request = TuneRequest("restaurant", include_template=True, eval_fraction=0.2, settings=FAST)
    with pytest.raises(NoTrainingDataError, match="nothing to train on"):
        run_tune(settings, store, request)  # nothing approved yet

    review_batch(url, store)
    outcome = run_tune(settings, store, request)

    assert outcome is not None
    made = outcome.version
    assert made.name == "restaurant-v1" and made.content_type == "restaurant"
    authors = outcome.counts["by_author"]  # the fake's text passed for one item: "model"
    assert authors["editor"] == 3 and authors["template"] >= 4 and sum(authors.values()) == 8
    assert (outcome.train_examples, outcome.held_out_inputs) == (6, 2)  # whole inputs held out
    assert made.data["source"]["kind"] == "approvals" and len(made.data["source"]["items"]) == 8
    assert promote(url, made.name, "restaurant").previous is None

    batch_id = next_batch(settings, store)

    with session_scope(url, readonly=True) as session:
        rows = session.execute(
            select(Generation.item_id, Generation.model_version_id)
            .join(Item, Item.id == Generation.item_id)
            .where(Item.batch_id == batch_id)
        ).all()
    assert rows and {version_id for _, version_id in rows} == {made.id}
    assert "version restaurant-v1" in describe_item(url, rows[0][0])

    capsys.readouterr()
    args = ["--reference", str(RESTAURANTS), "--limit", "2", "--compare", "fallback"]
    assert (
        cli("eval", "--type", "restaurant", *args, "--max-attempts", "1", "--store", "--json") == 0
    )
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [s["system"] for s in scores] == ["restaurant-v1", "fallback"]
    for score in scores:
        assert score["items"] == 2 and 0 <= score["bleu"] <= 1
        assert score["reference"]["path"] == str(RESTAURANTS)
    assert scores[1]["model_written"] == 0.0  # the fallback alone writes nothing
    assert cli("models", "list") == 0
    listed = capsys.readouterr().out
    assert "restaurant-v1" in listed and "restaurant" in listed


def test_tune_from_a_reference_file_quarantines_bad_rows(
    settings: Settings, tmp_path: Path
) -> None:
    rows = RESTAURANTS.read_text(encoding="utf-8").splitlines()
    bad = [
        '"name[Nowhere], colour[blue]",A field the schema does not know.',
        '"area[riverside]",No name.',
        '"name[Aromi], area[riverside]",',
    ]
    reference = tmp_path / "refs.csv"
    reference.write_text("\n".join([*rows, *bad]) + "\n", encoding="utf-8")
    store = LocalStore(settings.resolved_store_path)
    request = TuneRequest("restaurant", reference=reference, eval_fraction=0.2, settings=FAST)

    outcome = run_tune(settings, store, request)

    assert outcome is not None
    assert len(outcome.quarantined) == 3 and outcome.counts["quarantined"] == 3
    assert outcome.counts["examples"] == 8
    assert {q.row_number for q in outcome.quarantined} == {10, 11, 12}
    assert outcome.version.data["source"]["sha256"].startswith("sha256:")
    again = run_tune(
        settings,
        store,
        TuneRequest(
            "restaurant", reference=reference, eval_fraction=0.2, settings=FAST, only_new_data=True
        ),
    )
    assert again is None  # the same data as the latest version: nothing new to learn
