"""What the model wrote for an item, round by round: per section, every attempt and each
of its candidates with its findings, which one the checks chose, which one the text kept,
and, when the model's text was discarded, the checks that discarded it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copydesk.desk.authorship import model_words
from copydesk.desk.marked_text import FindingView, Segment, finding_view, highlight
from copydesk.pipeline.types import candidate_order
from db.models import Decision, Finding, Generation, RefineDecision, Refinement


@dataclass(frozen=True)
class CandidateView:
    generation_id: int
    number: int  # 1-based, among its attempt's candidates
    text: str
    findings: list[FindingView]
    segments: list[Segment]
    chosen: bool  # the one the checks preferred among the attempt's candidates
    used: bool  # the text the section kept (as written or with the refiner's fixes)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


@dataclass(frozen=True)
class AttemptView:
    number: int  # 1-based, within its round (a later one had the findings as instructions)
    candidates: list[CandidateView]


@dataclass(frozen=True)
class SectionAttempts:
    section: str
    attempts: list[AttemptView]
    decision: str | None  # None: not decided yet
    discarded_because: list[str]  # check ids of the errors that failed the model's text


@dataclass(frozen=True)
class RoundView:
    """One writing of the item: the first, or one an editor asked for with notes."""

    number: int
    model_version: str | None  # the tuned version's name (None: the base model)
    asked_by: str | None
    notes: str | None
    sections: list[SectionAttempts]

    @property
    def model_words(self) -> str:
        return model_words(self.model_version)


def model_rounds(
    session: Session,
    item_id: int,
    names: list[str],
    generations: list[Generation],
    refinements: list[Refinement],
    reviews: Sequence[Any],
) -> list[RoundView]:
    """Every round's attempts per section, each candidate with its findings; round n > 1
    was asked for by the (n-1)th regeneration request."""
    findings: dict[int, list[FindingView]] = {}
    query = select(Finding).where(Finding.item_id == item_id, Finding.generation_id.is_not(None))
    for f in session.scalars(query.order_by(Finding.id)):
        findings.setdefault(f.generation_id or 0, []).append(finding_view(f))
    decided = {(r.generation_round, r.section): r for r in refinements}
    requests = [r for r in reviews if r.decision == Decision.REGENERATE]
    by_round: dict[int, dict[str, dict[int, list[Generation]]]] = {}
    for g in generations:
        sections = by_round.setdefault(g.generation_round, {})
        sections.setdefault(g.section, {}).setdefault(g.attempt, []).append(g)
    rounds = []
    for number, sections in sorted(by_round.items()):
        first = next(g for attempts in sections.values() for gs in attempts.values() for g in gs)
        request = requests[number - 2] if 1 < number <= len(requests) + 1 else None
        ordered = [n for n in names if n in sections] + [n for n in sections if n not in names]
        rounds.append(
            RoundView(
                number,
                first.model_version.name if first.model_version is not None else None,
                request.editor.name if request is not None else None,
                request.reason if request is not None else None,
                [
                    _section_attempts(name, sections[name], decided.get((number, name)), findings)
                    for name in ordered
                ],
            )
        )
    return rounds


def _section_attempts(
    name: str,
    attempts: dict[int, list[Generation]],
    refinement: Refinement | None,
    findings: dict[int, list[FindingView]],
) -> SectionAttempts:
    views = []
    for number, (_, generations) in enumerate(sorted(attempts.items()), start=1):
        chosen = min(generations, key=lambda g: _order(g, findings.get(g.id, [])))
        candidates = [
            CandidateView(
                g.id,
                index,
                g.output,
                findings.get(g.id, []),
                highlight(g.output, findings.get(g.id, [])),
                g is chosen,
                refinement is not None and refinement.generation_id == g.id,
            )
            for index, g in enumerate(sorted(generations, key=lambda g: g.candidate), start=1)
        ]
        views.append(AttemptView(number, candidates))
    decision = refinement.decision if refinement is not None else None
    failing: list[str] = []
    if decision in (RefineDecision.FALLBACK, RefineDecision.FLAGGED) and views:
        kept = [c for a in views for c in a.candidates if c.used]
        last = kept or [c for c in views[-1].candidates if c.chosen]
        failing = list(dict.fromkeys(f.check for f in last[0].findings if f.severity == "error"))
    return SectionAttempts(name, views, decision, failing)


def _order(g: Generation, findings: list[FindingView]) -> tuple[int, int, float, int]:
    """The refine stage's order of an attempt's candidates, from their stored rows."""
    return candidate_order((f.severity for f in findings), g.mean_logprob, g.candidate)
