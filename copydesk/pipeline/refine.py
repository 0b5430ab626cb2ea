"""The refine stage: make every section right, or say that it is not.

For each section: apply the fixes that are safe to make without a model (a cut-off last
sentence, spelling, a/an, repeated words), run the content type's checks on every
candidate of its attempt and keep the best (no errors first, then the fewest warnings,
then the highest mean token log-probability), and regenerate the sections whose best
still has errors, the findings turned into instructions, with new seeds, up to
`max_attempts`. A section that never passes gets the content type's deterministic
fallback (`<section>.fallback.j2`, a Jinja2 realisation of the record) when that passes
the same checks; otherwise the best attempt goes to review flagged with its errors. An item
never passes silently with a wrong fact, and every attempt, finding, fix and decision is
written to the lineage (`generations`, `findings`, `refinements`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from copydesk.checks.findings import AppliedFix, Checked, CheckFinding
from copydesk.checks.grammar import apply_safe_fixes, lint_ahead
from copydesk.checks.hygiene import trim_unfinished
from copydesk.checks.metrics import section_metrics
from copydesk.checks.suite import run_section_checks
from copydesk.chunking import chunked
from copydesk.content.outline import PlanError, SectionPlan, render_template, tidy_text
from copydesk.content.types import ContentType
from copydesk.generation.base import GenerationRequest, TextGenerator
from copydesk.hashing import sha256_text
from copydesk.inputs.records import record_strings
from copydesk.pipeline.generate import load_work
from copydesk.pipeline.rows import fail_in_status, finding_values, generation_values
from copydesk.pipeline.types import (
    Attempt,
    GenerationOptions,
    ItemWork,
    NewGeneration,
    RunIds,
    StageCounts,
    candidate_order,
)
from db import repository as repo
from db.models import Finding, Generation, ItemStatus, RefineDecision, Refinement
from db.session import session_scope

FALLBACK_TEMPLATE = "{section}.fallback.j2"
# Sections checked as one batch on one thread: their texts go to the grammar checker in
# one call (a call's fixed cost is most of a short text's).
CHECK_BATCH = 32


@dataclass
class SectionWork:
    """One section's attempts so far, each checked."""

    unit: ItemWork
    section: SectionPlan
    checked: list[tuple[Attempt, Checked]] = field(default_factory=list)  # each attempt's best
    considered: list[tuple[Attempt, Checked]] = field(default_factory=list)  # every candidate

    def best(self) -> tuple[Attempt, Checked]:
        """The attempt with the fewest errors (the later one on a tie)."""
        return min(reversed(self.checked), key=lambda pair: len(pair[1].errors))


def polish(
    section: SectionPlan, text: str, content_type: ContentType, record: dict[str, Any]
) -> Checked:
    """Safe fixes first, then every check of the content type on the fixed text."""
    cleaned, fixes = _trimmed(section, text)
    if "grammar" in content_type.checks:
        cleaned, applied = apply_safe_fixes(
            cleaned, language=content_type.language, protected=record_strings(record)
        )
        fixes += applied
    findings = run_section_checks(section, cleaned, content_type, record)
    return Checked(cleaned, tuple(fixes), tuple(findings))


def _trimmed(section: SectionPlan, text: str) -> tuple[str, list[AppliedFix]]:
    """The text stripped and, for running text, without an unfinished last sentence."""
    fixes: list[AppliedFix] = []
    cleaned = text.strip()
    if section.format == "text":
        trimmed = trim_unfinished(cleaned)
        if trimmed != cleaned:
            cut = cleaned[len(trimmed) :]
            fixes.append(AppliedFix(len(trimmed), len(cleaned), cut, "", "unfinished", "cut off"))
            cleaned = trimmed
    return cleaned, fixes


Polish = tuple[SectionPlan, str, dict[str, Any]]  # a section, its text, the item's record


def polish_batch(batch: Sequence[Polish], content_type: ContentType) -> list[Checked]:
    """`polish` for each (section, text, record); the texts' grammar is linted in one call
    first (the results are the same as one `polish` at a time, only sooner)."""
    if "grammar" in content_type.checks:
        cleaned = [_trimmed(section, text)[0] for section, text, _ in batch]
        lint_ahead(cleaned, language=content_type.language)
    return [polish(section, text, content_type, record) for section, text, record in batch]


def fallback_text(
    content_type: ContentType, section: SectionPlan, record: dict[str, Any]
) -> str | None:
    """The content type's deterministic realisation of the section, if it has one."""
    template = FALLBACK_TEMPLATE.format(section=section.name)
    if not (content_type.folder / template).is_file():
        return None
    context = {"record": record, "section": section, "content_type": content_type}
    rendered = render_template(content_type, template, context, error=PlanError)
    lines = [" ".join(line.split()) for line in tidy_text(rendered).splitlines()]
    joined = "\n".join(lines) if section.format == "bullets" else " ".join(" ".join(lines).split())
    return joined.strip()


def candidate_rank(pair: tuple[Attempt, Checked]) -> tuple[int, int, float, int]:
    """`candidate_order` of a checked candidate."""
    attempt, checked = pair
    severities = (f.severity for f in checked.findings)
    return candidate_order(severities, attempt.mean_logprob, attempt.candidate)


def instructions(errors: Sequence[CheckFinding]) -> str:
    """The findings as instructions for the next attempt, each once."""
    wanted = dict.fromkeys(f.suggestion or f.message for f in errors)
    return "\n".join(f"- {line}" for line in wanted)


def retry_requests(
    unit: ItemWork,
    section: SectionPlan,
    errors: Sequence[CheckFinding],
    attempt: int,
    options: GenerationOptions,
) -> list[GenerationRequest]:
    """The next attempt's candidates: the prompt with the findings as instructions."""
    prompt = (
        f"{unit.prompt(section)}\n\nYour previous answer had mistakes. Write it again and:\n"
        f"{instructions(errors)}"
    )
    return options.requests(section, prompt, unit.input_sha256, attempt, retry=True)


@dataclass(frozen=True)
class Outcome:
    """The decision for one section and the text it keeps."""

    work: SectionWork
    decision: RefineDecision
    attempt: Attempt | None  # None: the fallback
    final: Checked


def decide(work: SectionWork, content_type: ContentType) -> Outcome:
    """Passed (as is or fixed) → the attempt; else the fallback if it passes; else flagged."""
    attempt, checked = work.checked[-1]
    if not checked.errors:
        decision = RefineDecision.FIXED if checked.fixes else RefineDecision.PASSED
        return Outcome(work, decision, attempt, checked)
    record = work.unit.record
    text = fallback_text(content_type, work.section, record)
    if text is not None:
        fallback = polish(work.section, text, content_type, record)
        if not fallback.errors:
            return Outcome(work, RefineDecision.FALLBACK, None, fallback)
    attempt, checked = work.best()
    return Outcome(work, RefineDecision.FLAGGED, attempt, checked)


def refine_chunk(
    url: str,
    item_ids: Sequence[int],
    content_type: ContentType,
    generator: TextGenerator,
    options: GenerationOptions,
    run: RunIds,
    threads: int = 1,
) -> StageCounts:
    """Check, fix, regenerate and decide every section of the chunk's generated items.

    Checks and model calls run with no transaction open; everything is written in one
    short transaction at the end (a crash before it loses only this chunk's refine work).
    The sections' checks run on `threads` threads side by side (the grammar checker, most
    of their cost, releases the GIL); the results do not depend on it.
    """
    units, missing = load_work(url, item_ids, ItemStatus.GENERATED)
    sections = [
        SectionWork(unit, section)
        for unit in units
        for section in unit.sections
        if unit.latest.get(section.name)
    ]
    with _section_map(threads) as each:
        new = _attempts(sections, content_type, generator, options, each, threads)
        outcomes = list(each(lambda work: decide(work, content_type), sections))
    counts = write_refinements(url, units, missing, new, outcomes, generator, run)
    counts.extra["regenerated"] = len(new)
    for outcome in outcomes:
        key = outcome.decision.value
        counts.extra[key] = counts.extra.get(key, 0) + 1
    return counts


SectionMap = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


@contextmanager
def _section_map(threads: int) -> Iterator[SectionMap]:
    """`map`, on a pool of `threads` threads when more than one (results in order)."""
    if threads <= 1:
        yield map
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="refine-checks") as pool:
        yield pool.map


def _attempts(
    sections: list[SectionWork],
    content_type: ContentType,
    generator: TextGenerator,
    options: GenerationOptions,
    each: SectionMap,
    threads: int,
) -> list[NewGeneration]:
    """Check every section's latest text, regenerate those with errors, up to the last
    attempt; return the new generations (each section's `checked` holds its attempts)."""

    def check(batch: list[tuple[SectionWork, Attempt]]) -> list[Checked]:
        jobs = [(w.section, current.output, w.unit.record) for w, current in batch]
        return polish_batch(jobs, content_type)

    new: list[NewGeneration] = []
    pending = sections
    for attempt in range(1, options.max_attempts + 1):
        retry = []
        jobs = [(w, current) for w in pending for current in w.unit.latest[w.section.name]]
        results = [checked for done in each(check, _batches(jobs, threads)) for checked in done]
        checked_by_work: dict[int, list[tuple[Attempt, Checked]]] = {}
        for (work, current), checked in zip(jobs, results, strict=True):
            checked_by_work.setdefault(id(work), []).append((current, checked))
        for work in pending:
            candidates = checked_by_work[id(work)]
            work.considered += candidates
            work.checked.append(min(candidates, key=candidate_rank))
            if work.checked[-1][1].errors and attempt < options.max_attempts:
                retry.append(work)
        if not retry:
            break
        calls = [
            (work, number, candidate, request)
            for work in retry
            for number in [work.unit.next_attempt(work.section.name)]
            for candidate, request in enumerate(
                retry_requests(work.unit, work.section, work.checked[-1][1].errors, number, options)
            )
        ]
        outputs = generator.generate([request for *_, request in calls])
        for (work, number, candidate, request), result in zip(calls, outputs, strict=True):
            unit, name = work.unit, work.section.name
            new.append(
                NewGeneration(
                    unit.item_id,
                    unit.plan_id,
                    name,
                    number,
                    request,
                    result,
                    unit.generation_round,
                    candidate,
                )
            )
            unit.add(
                name,
                Attempt(
                    number,
                    result.text,
                    new=len(new) - 1,
                    candidate=candidate,
                    mean_logprob=result.mean_logprob,
                ),
            )
        pending = retry
    return new


def _batches(jobs: list[Any], threads: int) -> list[list[Any]]:
    """The texts to check in batches of at most CHECK_BATCH, enough for every thread."""
    size = max(1, min(CHECK_BATCH, -(-len(jobs) // max(threads, 1))))
    return list(chunked(jobs, size))


def write_refinements(
    url: str,
    units: list[ItemWork],
    missing_plan: list[int],
    new: list[NewGeneration],
    outcomes: list[Outcome],
    generator: TextGenerator,
    run: RunIds,
) -> StageCounts:
    """New attempts, every attempt's findings, the decisions and their final findings
    (each table's rows in one batched statement)."""
    counts = StageCounts()
    with session_scope(url) as session:
        ids = [unit.item_id for unit in units]
        moved = repo.move_items(
            session=session, ids=ids, status=ItemStatus.GENERATED, to=ItemStatus.REFINED
        )
        items = {item_id for item_id, _ in moved}
        kept = [index for index, g in enumerate(new) if g.item_id in items]
        rows = [generation_values(new[index], generator, run) for index in kept]
        inserted = repo.insert_rows(session=session, model=Generation, rows=rows)
        new_ids = dict(zip(kept, inserted, strict=True))

        def row_id(attempt: Attempt) -> int | None:
            return attempt.row_id if attempt.new is None else new_ids.get(attempt.new)

        findings, decided = [], []
        for outcome in outcomes:
            item_id = outcome.work.unit.item_id
            if item_id not in items:
                continue  # another run refined it meanwhile
            for attempt, checked in outcome.work.considered:
                generation_id = row_id(attempt)
                for finding in checked.findings if generation_id is not None else ():
                    findings.append(finding_values(item_id, generation_id, finding))
            decided.append(outcome)
        refinements = [_refinement_row(outcome, row_id, run) for outcome in decided]
        refinement_ids = repo.insert_rows(session=session, model=Refinement, rows=refinements)
        for outcome, refinement_id in zip(decided, refinement_ids, strict=True):
            item_id, section = outcome.work.unit.item_id, outcome.work.section.name
            findings += [
                finding_values(item_id, None, f, refinement_id=refinement_id, section=section)
                for f in outcome.final.findings
            ]
        if findings:
            session.execute(insert(Finding), findings)
        counts.done = len(moved)
        counts.failed = fail_in_status(
            session, missing_plan, ItemStatus.GENERATED, "the item has no plan"
        )
    return counts


def _refinement_row(outcome: Outcome, row_id: Any, run: RunIds) -> dict[str, Any]:
    """A `refinements` row for a section's decision, as column values."""
    work, final = outcome.work, outcome.final
    first = work.checked[0][1]
    metrics = section_metrics(work.section, final, first)
    return {
        "item_id": work.unit.item_id,
        "section": work.section.name,
        "generation_round": work.unit.generation_round,
        "generation_id": row_id(outcome.attempt) if outcome.attempt is not None else None,
        "decision": outcome.decision,
        "attempts": len(work.checked),
        "text": final.text,
        "text_sha256": sha256_text(final.text),
        "fixes": [fix.as_dict() for fix in final.fixes],
        "metrics": metrics,
        "prefect_flow_run_id": run.flow_run_id,
        "prefect_task_run_id": run.task_run_id,
    }
