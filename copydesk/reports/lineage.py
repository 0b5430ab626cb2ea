"""Answers to "where did this come from?": an item's chain, and export rows for a batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from copydesk.errors import CopydeskError
from db.models import Batch, Finding, Generation, Item, Plan, Refinement, Revision
from db.session import session_scope


def _version_name(generation: Generation) -> str:
    """The tuned model version's name, or `base` (the base model as configured)."""
    version = generation.model_version
    return version.name if version is not None else "base"


def describe_item(url: str, item_id: int) -> str:
    """Human-readable lineage: input → plan → generations (+ findings) → revision → object key."""
    with session_scope(url, readonly=True) as session:
        item = session.get(Item, item_id)
        if item is None:
            raise CopydeskError(f"no item {item_id}; `copydesk items BATCH` lists a batch's items")
        batch = session.get_one(Batch, item.batch_id)
        lines = [
            f"item {item.id} of batch {batch.id} ({batch.content_type}) — status {item.status}",
            f"input: {item.source} row {item.row_number}, {item.input_sha256}",
            "  " + json.dumps(item.input_record, ensure_ascii=False),
        ]
        if item.error:
            lines.append(f"error: {item.error}")
        for plan in session.scalars(select(Plan).where(Plan.item_id == item.id)):
            sections = ", ".join(s["name"] for s in plan.outline.get("sections", []))
            lines.append(f"plan {plan.id}: template {plan.template_sha256}; sections: {sections}")
        findings, findings_final = _findings_by_generation(session, item.id)
        for g in session.scalars(
            select(Generation).where(Generation.item_id == item.id).order_by(Generation.id)
        ):
            candidate = f" candidate {g.candidate + 1}" if g.candidate else ""
            run = (
                f"; flow run {g.prefect_flow_run_id}, task run {g.prefect_task_run_id}"
                if g.prefect_flow_run_id
                else "; run in process (no Prefect flow run)"
            )
            logprob = f", mean log-prob {g.mean_logprob:.3f}" if g.mean_logprob is not None else ""
            lines.append(
                f"generation {g.id}: section {g.section} attempt {g.attempt}{candidate}; "
                f"{g.backend} {g.model_id} @ {g.model_revision}; version {_version_name(g)}; "
                f"{g.device}/{g.dtype}; seed {g.seed}; decoding {json.dumps(g.decoding)}; "
                f"prompt {g.prompt_sha256}; {g.tokens_in}→{g.tokens_out} tokens, "
                f"{g.finish_reason}{logprob}, {(g.duration_s or 0):.2f}s{run}"
            )
            lines += _finding_lines(findings.get(g.id, []))
        for ref in session.scalars(
            select(Refinement).where(Refinement.item_id == item.id).order_by(Refinement.id)
        ):
            source = f"generation {ref.generation_id}" if ref.generation_id else "the fallback"
            lines.append(
                f"refinement {ref.id}: section {ref.section} → {ref.decision} after "
                f"{ref.attempts} attempt(s), text from {source}; {ref.text_sha256}"
            )
            lines += [
                f"  fix [{fix['kind']}] {fix['before']!r} → {fix['after']!r}" for fix in ref.fixes
            ]
            lines += _finding_lines(findings_final.get(ref.id, []))
        for r in session.scalars(
            select(Revision).where(Revision.item_id == item.id).order_by(Revision.id)
        ):
            parent = f" (from revision {r.parent_id})" if r.parent_id else ""
            lines.append(
                f"revision {r.id} by {r.author_kind} {r.author}{parent}: {r.text_sha256}"
                f" → {r.object_key or 'not stored'}"
            )
            lines += [
                f"  {fmt}: {o['key']} ({o['sha256']})" for fmt, o in sorted(r.outputs.items())
            ]
            lines += ["", r.text]
        return "\n".join(lines)


def _finding_lines(findings: list[Finding]) -> list[str]:
    """One line per distinct finding (a check may report the same problem twice)."""
    seen = dict.fromkeys(f"  finding [{f.severity}] {f.check}: {f.message}" for f in findings)
    return list(seen)


def export_rows(url: str, batch_id: int) -> Iterator[dict[str, Any]]:
    """One dict per item, in input order, read in pages (flat memory for big batches)."""
    last_id, page = 0, 500
    while True:
        with session_scope(url, readonly=True) as session:
            items = session.scalars(
                select(Item)
                .where(Item.batch_id == batch_id, Item.id > last_id)
                .order_by(Item.id)
                .limit(page)
            ).all()
            if not items:
                return
            for item in items:
                revision = session.scalars(
                    select(Revision)
                    .where(Revision.item_id == item.id)
                    .order_by(Revision.id.desc())
                    .limit(1)
                ).first()
                findings = session.scalars(
                    select(Finding).where(
                        Finding.item_id == item.id,
                        Finding.severity == "error",
                        Finding.refinement_id.is_not(None),  # the final text's
                    )
                ).all()
                yield {
                    "item_id": item.id,
                    "row": item.row_number,
                    "input": item.input_record,
                    "status": item.status,
                    "text": revision.text if revision else None,
                    "findings": [{"check": f.check, "message": f.message} for f in findings],
                    "error": item.error,
                    "object_key": revision.object_key if revision else None,
                }
            last_id = items[-1].id


def _findings_by_generation(
    session: Any, item_id: int
) -> tuple[dict[int, list[Finding]], dict[int, list[Finding]]]:
    """Findings grouped by the attempt they are about, and by refinement (the final text)."""
    by_generation: dict[int, list[Finding]] = {}
    by_refinement: dict[int, list[Finding]] = {}
    for finding in session.scalars(
        select(Finding).where(Finding.item_id == item_id).order_by(Finding.id)
    ):
        if finding.generation_id is not None:
            by_generation.setdefault(finding.generation_id, []).append(finding)
        if finding.refinement_id is not None:
            by_refinement.setdefault(finding.refinement_id, []).append(finding)
    return by_generation, by_refinement
