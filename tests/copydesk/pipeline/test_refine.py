"""The refine stage on plain functions: pass, fix, regenerate, fall back or flag — and the
lineage and quality figures each decision leaves behind."""

from __future__ import annotations

import csv
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.checks.grammar import grammar_checker
from copydesk.content.outline import render_plan
from copydesk.content.types import load_content_type
from copydesk.generation.base import GenerationRequest
from copydesk.inputs.readers import validate_record
from copydesk.pipeline.batch import start_batch
from copydesk.pipeline.generate import generate_chunk
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.plan import plan_chunk
from copydesk.pipeline.refine import (
    CHECK_BATCH,
    SectionWork,
    _batches,
    fallback_text,
    polish,
    polish_batch,
    refine_chunk,
)
from copydesk.pipeline.types import GenerationOptions, RunIds
from copydesk.reports.quality import batch_quality
from copydesk.storage import LocalStore
from db import migrate
from db import repository as repo
from db.models import Finding, Generation, Item, ItemStatus, Refinement, Revision
from db.repository import item_ids
from db.session import session_scope
from tests.support.desk import reviewable_batch
from tests.support.e2e import DEVSET
from tests.support.fake_generator import FakeGenerator, echo_facts

ROOT = Path(__file__).resolve().parents[3]
RESTAURANTS = ROOT / "templates" / "restaurant" / "samples" / "restaurants.csv"

GOOD = "Alimentum is a place in the city centre. It is not family-friendly."


def _csv(tmp_path: Path, mrs: list[str]) -> Path:
    path = tmp_path / "mrs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mr"])
        writer.writerows([mr] for mr in mrs)
    return path


def _run(
    url: str,
    tmp_path: Path,
    source: Path,
    responder: Callable[[GenerationRequest], str],
    *,
    content_type: str = "restaurant",
    max_attempts: int = 3,
) -> tuple[int, FakeGenerator]:
    """ingest → plan → generate → refine → output, in-process, one chunk."""
    generator = FakeGenerator(responder=responder)
    batch_id, _ = reviewable_batch(
        url,
        LocalStore(tmp_path / "store"),
        source=source,
        content_type=content_type,
        max_attempts=max_attempts,
        generator=generator,
    )
    return batch_id, generator


ALIMENTUM = "name[Alimentum], area[city centre], familyFriendly[no]"


def test_a_correct_first_attempt_passes_as_it_is(database_url: str, tmp_path: Path) -> None:
    batch_id, generator = _run(database_url, tmp_path, _csv(tmp_path, [ALIMENTUM]), lambda r: GOOD)

    assert len(generator.history) == 1  # no regeneration
    with session_scope(database_url) as session:
        refinement = session.scalars(select(Refinement)).one()
        assert (refinement.decision, refinement.attempts, refinement.text) == ("passed", 1, GOOD)
        assert refinement.generation_id is not None
        assert [r.author_kind for r in session.scalars(select(Revision))] == ["model"]
        assert session.scalars(select(Item)).one().status == ItemStatus.PENDING_REVIEW
    quality = batch_quality(database_url, batch_id)
    assert quality.fact_error_rate == 0.0 and quality.items_needing_fallback == 0.0


def test_wrong_facts_are_regenerated_with_instructions_then_fall_back(
    database_url: str, tmp_path: Path
) -> None:
    wrong = "Alimentum is a family-friendly Italian restaurant by the river near Burger King."
    batch_id, generator = _run(database_url, tmp_path, _csv(tmp_path, [ALIMENTUM]), lambda r: wrong)

    assert len(generator.history) == 3  # first attempt + 2 regenerations
    retry_prompt = generator.history[1].messages[-1].content
    assert "Your previous answer had mistakes" in retry_prompt
    assert "not family friendly" in retry_prompt.lower()  # the finding, as an instruction
    assert generator.history[1].seed != generator.history[2].seed
    with session_scope(database_url) as session:
        refinement = session.scalars(select(Refinement)).one()
        assert refinement.decision == "fallback" and refinement.generation_id is None
        assert refinement.attempts == 3
        for fact in ("Alimentum", "city centre", "not family-friendly"):
            assert fact in refinement.text
        final = session.scalars(select(Finding).where(Finding.refinement_id == refinement.id)).all()
        assert not [f for f in final if f.severity == "error"]
        attempts = session.scalars(select(Generation).order_by(Generation.attempt)).all()
        assert [g.attempt for g in attempts] == [1, 2, 3]
        attempt_errors = session.scalars(
            select(Finding).where(Finding.generation_id.is_not(None), Finding.severity == "error")
        ).all()
        assert {f.generation_id for f in attempt_errors} == {g.id for g in attempts}
        model, refiner = session.scalars(select(Revision).order_by(Revision.id)).all()
        assert (model.author_kind, refiner.author_kind) == ("model", "refiner")
        assert refiner.parent_id == model.id and wrong in model.text
        assert refiner.object_key and model.object_key is None
    quality = batch_quality(database_url, batch_id)
    assert quality.fact_error_rate == 0.0
    assert quality.fact_error_rate_first_attempt is not None
    assert quality.fact_error_rate_first_attempt > 0.5
    assert quality.items_needing_fallback == 1.0 and quality.attempts_per_section == 3.0


def test_a_later_attempt_that_passes_is_kept(database_url: str, tmp_path: Path) -> None:
    def responder(request: GenerationRequest) -> str:
        retried = "previous answer" in request.messages[-1].content
        return GOOD if retried else "Alimentum is a pub."

    _run(database_url, tmp_path, _csv(tmp_path, [ALIMENTUM]), responder)
    with session_scope(database_url) as session:
        refinement = session.scalars(select(Refinement)).one()
        assert (refinement.decision, refinement.attempts, refinement.text) == ("passed", 2, GOOD)
        chosen = session.get_one(Generation, refinement.generation_id)
        assert chosen.attempt == 2


def test_safe_fixes_are_applied_and_recorded(database_url: str, tmp_path: Path) -> None:
    typo = "Alimentum is a place in the the city centre. It is not family-friendly."
    _run(database_url, tmp_path, _csv(tmp_path, [ALIMENTUM]), lambda r: typo, max_attempts=1)
    with session_scope(database_url) as session:
        refinement = session.scalars(select(Refinement)).one()
        assert refinement.decision == "fixed" and refinement.text == GOOD
        assert [f["kind"] for f in refinement.fixes] == ["repeated_word"]
        assert "the the" in refinement.fixes[0]["before"]
        revisions = session.scalars(select(Revision).order_by(Revision.id)).all()
        assert [r.author_kind for r in revisions] == ["model", "refiner"]


def test_without_a_fallback_the_best_attempt_is_flagged(database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "articles.jsonl"
    source.write_text(
        '{"title": "Composting at home", "audience": "new gardeners",'
        ' "outline": ["Why compost"], "key_points": ["keep it moist"]}\n'
    )
    batch_id, _ = _run(
        database_url, tmp_path, source, lambda r: "Nothing useful.", content_type="article"
    )

    with session_scope(database_url) as session:
        decisions = {r.section: r.decision for r in session.scalars(select(Refinement))}
        assert decisions == {"intro": "flagged", "body": "flagged"}
        final_errors = session.scalars(
            select(Finding).where(Finding.refinement_id.is_not(None), Finding.severity == "error")
        ).all()
        assert {f.check for f in final_errors} >= {"facts_present"}
        assert session.scalars(select(Item)).one().status == ItemStatus.PENDING_REVIEW
    quality = batch_quality(database_url, batch_id)
    assert quality.items_flagged == 1.0 and quality.fact_error_rate == 1.0


def _refined(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every refinement and finding of the database, without ids or run-dependent values."""
    with session_scope(url) as session:
        refinements = [
            (r.item_id, r.section, r.decision, r.attempts, r.text, r.fixes, r.metrics)
            for r in session.scalars(select(Refinement).order_by(Refinement.id))
        ]
        findings = [
            (f.item_id, f.section, f.check, f.severity, f.message, f.span_start, f.span_end)
            for f in session.scalars(select(Finding).order_by(Finding.id))
        ]
    return refinements, findings


def test_checks_on_threads_decide_exactly_as_one_thread(tmp_path: Path) -> None:
    # Some restaurants pass, some are fixed, some are regenerated and fall back.
    def responder(request: GenerationRequest) -> str:
        prompt = request.messages[-1].content
        if "previous answer" in prompt:
            return "It is a family-friendly pub near the river."
        return GOOD if "Alimentum" in prompt else prompt.split("\n")[0] + " a the the place."

    results = []
    for threads in (1, 4):
        url = f"sqlite:///{tmp_path / f'threads-{threads}.db'}"
        generator = FakeGenerator(responder=responder)
        store = LocalStore(tmp_path / f"store-{threads}")
        reviewable_batch(url, store, max_attempts=2, generator=generator, check_threads=threads)
        results.append(_refined(url))
    (refinements, findings), threaded = results
    assert {row[2] for row in refinements} == {"passed", "fallback"}
    assert len(refinements) >= 8 and len(findings) > len(refinements)
    assert (refinements, findings) == threaded


def test_a_batch_is_polished_as_each_section_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sample's human references, some spoilt: lower case, a repeated word, cut off.
    kind = load_content_type("restaurant")
    with RESTAURANTS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    jobs = []
    for index, row in enumerate(rows):
        record = _record(kind, row["mr"])
        text = row["ref"]
        spoilt = [text, text.lower(), text.replace(" is ", " is is "), text + " It is near the"]
        jobs.append((render_plan(kind, record).sections[0], spoilt[index % 4], record))
    checker = grammar_checker(kind.language)
    monkeypatch.setattr(checker, "_linted", OrderedDict())
    alone = []
    for section, text, record in jobs:
        alone.append(polish(section, text, kind, record))
        checker._linted.clear()  # type: ignore[attr-defined]
    assert polish_batch(jobs, kind) == alone
    kinds = {fix.kind for checked in alone for fix in checked.fixes}
    assert {"sentence_start", "repeated_word", "unfinished"} <= kinds


def test_sections_are_checked_in_batches_for_every_thread() -> None:
    sections = [SectionWork(None, None) for _ in range(100)]  # type: ignore[arg-type]
    assert [len(batch) for batch in _batches(sections, 1)] == [CHECK_BATCH] * 3 + [4]
    assert [len(batch) for batch in _batches(sections[:10], 4)] == [3, 3, 3, 1]
    assert _batches([], 4) == []
    assert [work for batch in _batches(sections, 3) for work in batch] == sections


def test_an_item_without_a_plan_fails_and_the_rest_are_refined(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(database_url)
    kind = load_content_type("restaurant")
    batch_id = start_batch(database_url, content_type="restaurant", source=RESTAURANTS, options={})
    ingest_batch(database_url, batch_id)
    with session_scope(database_url, readonly=True) as session:
        ids = item_ids(session=session, batch_id=batch_id, statuses=(ItemStatus.INGESTED,))
    generator, options = (
        FakeGenerator(responder=echo_facts),
        GenerationOptions(max_attempts=1, candidates=1),
    )
    plan_chunk(database_url, ids, kind)
    generate_chunk(database_url, ids, generator, options, RunIds("flow", "generate"))
    lost, plans = ids[1], repo.latest_plans  # its plan is gone, as if deleted meanwhile
    monkeypatch.setattr(
        repo,
        "latest_plans",
        lambda **kw: {k: v for k, v in plans(**kw).items() if k != lost},
    )
    counts = refine_chunk(database_url, ids, kind, generator, options, RunIds("flow", "refine"))
    assert (counts.done, counts.failed) == (len(ids) - 1, 1)
    with session_scope(database_url, readonly=True) as session:
        items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(ids)))}
        refined = session.scalars(select(Refinement.item_id)).all()
    assert (items[lost].status, items[lost].error) == (ItemStatus.FAILED, "the item has no plan")
    assert {i for i, item in items.items() if item.status == ItemStatus.REFINED} == set(ids) - {
        lost
    }
    assert lost not in refined and set(refined) == set(ids) - {lost}


def test_an_unfinished_last_sentence_is_cut() -> None:
    kind = load_content_type("restaurant")
    record = _record(kind, ALIMENTUM)
    section = render_plan(kind, record).sections[0]
    checked = polish(section, GOOD + " It also has a lovely view of the", kind, record)
    assert checked.text == GOOD and checked.fixes[0].kind == "unfinished"
    assert not checked.errors


def _record(kind: object, mr: str) -> dict[str, object]:
    validated = validate_record({"mr": mr}, kind)  # type: ignore[arg-type]
    assert hasattr(validated, "record"), validated
    return validated.record  # type: ignore[no-any-return]


def _dev_mrs(limit: int) -> list[str]:
    if not DEVSET.is_file():
        pytest.skip(f"{DEVSET} is not here (the shared E2E data)")
    with DEVSET.open(encoding="utf-8-sig", newline="") as handle:
        return list(dict.fromkeys(row["mr"] for row in csv.DictReader(handle)))[:limit]


def test_the_restaurant_fallback_passes_every_check_on_the_dev_set() -> None:
    """The fallback is what makes the slot error rate ≤ 1 %: it must carry every slot,
    right, for every meaning representation of the dev set."""
    kind = load_content_type("restaurant")
    failing = []
    mrs = _dev_mrs(10_000)
    for mr in mrs:
        record = _record(kind, mr)
        section = render_plan(kind, record).sections[0]
        text = fallback_text(kind, section, record)
        assert text is not None
        checked = polish(section, text, kind, record)
        if checked.errors or checked.fixes:
            failing.append((mr, checked.text, [f.message for f in checked.findings]))
    assert not failing, failing[:5]
    assert len(mrs) > 500


FORM_LIKE = re.compile(
    r"\bis a place\b|\bprice range\b|customer rating of (low|average|high)\b"
    r"|\bin the riverside\b|\ba (average|expensive)\b"
)


def test_the_restaurant_fallback_reads_like_prose_not_a_form() -> None:
    """The floor of quality: no "Alimentum is a place.", "in the less than £20 price
    range" or "a customer rating of low", and more than one way of saying things."""
    kind = load_content_type("restaurant")
    texts = []
    for mr in _dev_mrs(10_000):
        record = _record(kind, mr)
        text = fallback_text(kind, render_plan(kind, record).sections[0], record)
        assert text is not None and text.strip()
        texts.append(text)
    form_like = [t for t in texts if FORM_LIKE.search(t)]
    assert form_like == []
    assert any("You will find it" in t for t in texts) and any("It is in" in t for t in texts)
    assert any(" serving " in t for t in texts) and any(" that serves " in t for t in texts)


def test_the_product_fallback_is_spelt_in_the_content_types_dialect() -> None:
    """The fallback is the text of last resort: harper (en-US for product_description)
    finds nothing to say about its words on the bundled sample ("Colours:" was flagged on
    every item), and its title, a `line`, is not an unfinished sentence."""
    from copydesk.inputs.readers import ingest_rows
    from copydesk.settings import get_settings

    kind = load_content_type("product_description")
    sample = get_settings().templates_dir / "product_description" / "samples" / "products.csv"
    lints = []
    for item in ingest_rows(sample, kind):
        if item.error:
            continue
        for section in render_plan(kind, item.input_record).sections:
            text = fallback_text(kind, section, item.input_record)
            assert text is not None
            checked = polish(section, text, kind, item.input_record)
            lints += [
                (section.name, f.message)
                for f in checked.findings
                if f.check in ("grammar", "unfinished")
            ]
            assert not checked.fixes, checked.fixes
    assert not lints, lints[:5]


def test_a_line_needs_no_sentence_end_and_a_text_does() -> None:
    kind = load_content_type("product_description")
    record: dict[str, object] = {
        **dict.fromkeys(("category", "dimensions")),
        **{"materials": [], "colours": [], "features": []},
        **{"name": "Trail Runner", "brand": "Lumo", "price": "49.00", "currency": "USD"},
    }
    title = render_plan(kind, record).sections[0]
    assert title.format == "line"
    assert not polish(title, "Lumo Trail Runner", kind, record).findings
    as_text = replace(title, format="text")
    assert [f.check for f in polish(as_text, "Lumo Trail Runner", kind, record).findings] == [
        "unfinished"
    ]
