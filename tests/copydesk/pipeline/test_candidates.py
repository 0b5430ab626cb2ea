"""Candidates: several texts per attempt in the same batched call (the greedy one, then
seeded samples); the checks choose (no errors, then fewest warnings, then highest mean
token log-prob); every candidate is in the lineage; retries and the fallback stay."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from copydesk.checks.findings import Checked, CheckFinding
from copydesk.content.types import load_content_type
from copydesk.generation.base import GenerationRequest
from copydesk.pipeline.batch import start_batch
from copydesk.pipeline.ingest import ingest_batch
from copydesk.pipeline.inline import run_stages
from copydesk.pipeline.refine import candidate_rank
from copydesk.pipeline.types import Attempt, GenerationOptions, RunIds
from copydesk.storage import LocalStore
from db import migrate
from db.models import Finding, Generation, ItemStatus, RefineDecision, Refinement
from db.repository import item_ids
from db.session import session_scope
from tests.support.fake_generator import FakeGenerator

MR = "name[Alimentum], area[city centre], familyFriendly[no]"
GOOD = "Alimentum is a place in the city centre. It is not family-friendly."
BAD = "Alimentum is a place."  # misses two facts: an error


def run_one(url: str, tmp_path: Path, generator: FakeGenerator, options: GenerationOptions) -> int:
    source = tmp_path / "mrs.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["mr"], [MR]])
    migrate.upgrade(url)
    batch_id = start_batch(url, content_type="restaurant", source=source, options={})
    ingest_batch(url, batch_id)
    with session_scope(url, readonly=True) as session:
        ids = item_ids(session=session, batch_id=batch_id, statuses=(ItemStatus.INGESTED,))
    kind = load_content_type("restaurant")
    run_stages(url, ids, kind, generator, LocalStore(tmp_path / "store"), options, RunIds())
    return ids[0]


def rows(url: str, item_id: int) -> tuple[list[Generation], Refinement, list[Finding]]:
    with session_scope(url, readonly=True) as session:
        generations = list(
            session.scalars(
                select(Generation)
                .where(Generation.item_id == item_id)
                .order_by(Generation.attempt, Generation.candidate)
            )
        )
        refinement = session.scalars(select(Refinement).where(Refinement.item_id == item_id)).one()
        findings = list(session.scalars(select(Finding).where(Finding.item_id == item_id)))
        session.expunge_all()
        return generations, refinement, findings


def test_a_sampled_candidate_that_passes_beats_a_greedy_one_that_does_not(
    database_url: str, tmp_path: Path
) -> None:
    def responder(request: GenerationRequest) -> str:
        return BAD if request.decoding.greedy else GOOD

    generator = FakeGenerator(responder=responder)
    item_id = run_one(database_url, tmp_path, generator, GenerationOptions(candidates=3))

    first_call = generator.history[:3]
    assert generator.calls == 1  # all three in the generate stage's one batched call
    assert [r.decoding.greedy for r in first_call] == [True, False, False]
    assert len({r.seed for r in first_call}) == 3
    generations, refinement, findings = rows(database_url, item_id)
    assert [(g.attempt, g.candidate) for g in generations] == [(1, 0), (1, 1), (1, 2)]
    assert refinement.decision == RefineDecision.PASSED
    chosen = next(g for g in generations if g.id == refinement.generation_id)
    assert chosen.candidate > 0 and refinement.text == GOOD
    greedy = generations[0]
    assert {f.check for f in findings if f.generation_id == greedy.id} >= {"facts_present"}


def test_when_no_candidate_passes_every_retry_has_candidates_then_the_fallback(
    database_url: str, tmp_path: Path
) -> None:
    generator = FakeGenerator(responder=lambda request: BAD)
    options = GenerationOptions(candidates=2, max_attempts=2)
    item_id = run_one(database_url, tmp_path, generator, options)

    generations, refinement, findings = rows(database_url, item_id)
    assert [(g.attempt, g.candidate) for g in generations] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert all(not r.decoding.greedy for r in generator.history[2:])  # retries sample
    assert "previous answer had mistakes" in generations[2].prompt
    assert refinement.decision == RefineDecision.FALLBACK
    assert {f.generation_id for f in findings if f.generation_id} == {g.id for g in generations}


def test_the_manifest_sets_candidates_and_the_option_overrides_it() -> None:
    from copydesk.content.outline import render_plan

    kind = load_content_type("restaurant")
    section = render_plan(kind, {name: None for name in kind.fields} | {"name": "Aromi"})
    plan = section.sections[0]
    expected = kind.section(plan.name).candidates
    assert GenerationOptions().candidates_for(plan) == expected == plan.candidates
    assert GenerationOptions(candidates=5).candidates_for(plan) == 5


def test_beams_decode_only_the_first_attempts_first_candidate(
    database_url: str, tmp_path: Path
) -> None:
    generator = FakeGenerator(responder=lambda request: BAD)
    options = GenerationOptions(candidates=2, max_attempts=2, beams=4)
    item_id = run_one(database_url, tmp_path, generator, options)

    assert [r.decoding.num_beams for r in generator.history] == [4, 1, 1, 1]
    assert [r.decoding.greedy for r in generator.history] == [True, False, False, False]
    generations, _, _ = rows(database_url, item_id)
    assert generations[0].decoding["num_beams"] == 4  # the lineage says how it was decoded
    assert "num_beams" not in generations[1].decoding


def test_the_manifest_sets_beams_and_the_option_overrides_it() -> None:
    from copydesk.content.outline import Outline, render_plan

    kind = load_content_type("restaurant")
    outline = render_plan(kind, {name: None for name in kind.fields} | {"name": "Aromi"})
    plan = outline.sections[0]
    assert plan.beams == kind.section(plan.name).beams == 4  # restaurant searches 4 beams
    assert GenerationOptions().beams_for(plan) == 4
    assert GenerationOptions(beams=1).decoding(plan).num_beams == 1
    # sampling never searches beams; nor does a plan stored before beams existed
    assert GenerationOptions(temperature=0.7).decoding(plan).num_beams == 1
    stored = outline.as_dict()
    del stored["sections"][0]["beams"]
    assert Outline.from_dict(stored).sections[0].beams == 1


def finding(severity: str) -> CheckFinding:
    return CheckFinding("facts_present", severity, "x")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (((), -3.0), ((finding("error"),), -0.1)),  # no errors beats a likelier text
        (((finding("warning"),), -0.5), ((finding("warning"),) * 2, -0.1)),  # fewer warnings
        (((), -0.2), ((), -0.9)),  # then the higher mean log-prob
    ],
)
def test_candidates_rank_by_errors_then_warnings_then_logprob(
    a: tuple[tuple[CheckFinding, ...], float], b: tuple[tuple[CheckFinding, ...], float]
) -> None:
    def pair(found: tuple[CheckFinding, ...], logprob: float, n: int) -> tuple[Attempt, Checked]:
        return Attempt(1, "text", candidate=n, mean_logprob=logprob), Checked("text", (), found)

    better, worse = pair(*a, 1), pair(*b, 0)
    assert min([worse, better], key=candidate_rank) is better
