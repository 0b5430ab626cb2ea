"""The gate on the E2E dev set with the untuned bundled model: what the checks against
invented content (`grounding`, `subject`, `claims`) reject that passed before them.

Generates once: the bundled base model's texts for the first `--limit` distinct MRs of
`../shared/data/e2e/devset-cleaned.csv`, through the pipeline's own stages (ingest →
plan → generate → refine → output, `copydesk.tuning.scorecard.score_model`) with the
`restaurant` type's checks as they were before the gate ("before": without grounding,
subject and claims) and as they are ("after"). The model's texts are cached by request,
so both runs see the same attempts wherever they ask the same thing, and differ only in
what the checks let through. Reported per run: items whose final text the model wrote,
on the fallback, flagged; the slot error rate of the final texts; and the texts that
passed before and are rejected now, with the findings that reject them.

    python bench/gate_e2e.py --limit 200

Appends a JSON line to bench/results/gate_e2e.jsonl and rewrites bench/results/gate_e2e.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import SHARED_CPU, code_version, machine, record_run
from copydesk.runtime import prepare_environment

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e" / "devset-cleaned.csv"
GATE = ("grounding", "subject", "claims")  # and facts_once, added since


class CachedGenerator:
    """The wrapped generator, each distinct request answered once (both runs share it)."""

    def __init__(self, generator: Any) -> None:
        self.generator, self.cache = generator, {}

    @property
    def identity(self) -> Any:
        return self.generator.identity

    def generate(self, requests: Sequence[Any]) -> list[Any]:
        missing = [r for r in requests if r not in self.cache]
        for request, result in zip(missing, self.generator.generate(missing), strict=True):
            self.cache[request] = result
        return [self.cache[r] for r in requests]


def run(limit: int, attempts: int, candidates: int, folder: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from copydesk.content.types import load_content_type
    from copydesk.generation.backends import create_text_generator
    from copydesk.pipeline.types import GenerationOptions
    from copydesk.settings import get_settings
    from copydesk.tuning.scorecard import load_reference, score_model
    from db.models import Finding, Refinement
    from db.session import session_scope

    after = load_content_type("restaurant")
    gate = (*GATE, "facts_once")  # facts_once came with the gate's work (issue 19)
    before = after.model_copy(update={"checks": [c for c in after.checks if c not in gate]})
    reference = load_reference(DEVSET, after, limit=limit)
    generator = CachedGenerator(create_text_generator(get_settings()))
    options = GenerationOptions(max_attempts=attempts, candidates=candidates)
    decisions: dict[str, dict[str, Any]] = {}
    scores: dict[str, Any] = {}
    for label, kind in (("before", before), ("after", after)):
        url = f"sqlite:///{folder / label}.db"
        started = time.perf_counter()
        scores[label] = score_model(
            kind, reference, generator, label=label, options=options, keep_database=url
        )
        scores[label]["wall_s"] = round(time.perf_counter() - started, 1)
        with session_scope(url, readonly=True) as session:
            rows = session.execute(
                select(Refinement.item_id, Refinement.decision, Refinement.text, Refinement.id)
            ).all()
            found = session.execute(
                select(Finding.refinement_id, Finding.check, Finding.message).where(
                    Finding.refinement_id.is_not(None), Finding.severity == "error"
                )
            ).all()
        why: dict[int, list[str]] = {}
        for refinement_id, check, message in found:
            why.setdefault(refinement_id, []).append(f"{check}: {message}")
        decisions[label] = {
            str(item): {
                "decision": getattr(decision, "value", decision),
                "text": text,
                "why": why.get(rid, []),
            }
            for item, decision, text, rid in rows
        }
    model_written = ("passed", "fixed")
    newly = []
    for item, was in decisions["before"].items():
        now = decisions["after"].get(item, {})
        if was["decision"] in model_written and now.get("decision") not in model_written:
            first_try = _first_rejection(folder / "after.db", int(item), was["text"])
            newly.append(
                {
                    "item": int(item),
                    "text": was["text"],
                    "now": now.get("decision"),
                    "findings": first_try,
                }
            )
    return {
        "limit": limit,
        "max_attempts": attempts,
        "candidates": candidates,
        "inputs": len(reference.inputs),
        "model": generator.identity.model_id,
        "dtype": generator.identity.dtype,
        "requests": len(generator.cache),
        "before": _counts(scores["before"], decisions["before"]),
        "after": _counts(scores["after"], decisions["after"]),
        "rejected_now": len(newly),
        "rejected_examples": newly,
        "passing_after_sample": [
            d["text"] for d in decisions["after"].values() if d["decision"] in model_written
        ][:20],
    }


def _first_rejection(db: Path, item_id: int, text: str) -> list[str]:
    """The gate's error findings on the generation whose output was `text`."""
    from sqlalchemy import select

    from db.models import Finding, Generation
    from db.session import session_scope

    with session_scope(f"sqlite:///{db}", readonly=True) as session:
        ids = session.scalars(
            select(Generation.id).where(Generation.item_id == item_id, Generation.output == text)
        ).all()
        rows = session.execute(
            select(Finding.check, Finding.message).where(
                Finding.generation_id.in_(ids), Finding.severity == "error"
            )
        ).all()
    return sorted({f"{check}: {message}" for check, message in rows})


def _counts(score: dict[str, Any], decisions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, int] = {}
    for d in decisions.values():
        by[d["decision"]] = by.get(d["decision"], 0) + 1
    return {
        "decisions": dict(sorted(by.items())),
        "model_written": score["model_written"],
        "slot_error_rate": score["slot_error_rate"],
        "bleu": score["bleu"],
        "wall_s": score["wall_s"],
    }


def render(row: dict[str, Any]) -> str:
    lines = [
        f"# The gate on the E2E dev set, untuned bundled model ({row['date']}, {row['code']})\n",
        f"{row['inputs']} distinct MRs of devset-cleaned.csv, {row['model']} ({row['dtype']}), "
        f"up to {row['max_attempts']} attempts per section of {row['candidates']} text(s) "
        f"each, the `restaurant` type's checks "
        f"without (before) and with (after) grounding, subject and claims; "
        f"{row['requests']} distinct model requests. {row['machine']}.\n",
        "| checks | model-written | passed | fixed | fallback | flagged | final slot error |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in ("before", "after"):
        c = row[label]
        d = c["decisions"]
        lines.append(
            f"| {label} | {c['model_written']:.1%} | {d.get('passed', 0)} | {d.get('fixed', 0)} "
            f"| {d.get('fallback', 0)} | {d.get('flagged', 0)} | {c['slot_error_rate']:.2%} |"
        )
    lines += [
        "",
        f"Model texts that passed before and are rejected now: {row['rejected_now']}.",
        "",
    ]
    for example in row["rejected_examples"][:25]:
        lines.append(f'- item {example["item"]} (now {example["now"]}): "{example["text"]}"')
        for finding in example["findings"][:4]:
            lines.append(f"  - {finding}")
    lines += ["", "Model texts that pass the gate (first 20):", ""]
    lines += [f'- "{text}"' for text in row["passing_after_sample"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="distinct MRs (default 200)")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=1, help="texts per attempt (1)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    prepare_environment()
    with tempfile.TemporaryDirectory(prefix="copydesk-gate-") as tmp:
        result = run(args.limit, args.max_attempts, args.candidates, Path(tmp))
    row = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version(),
        "machine": f"{machine()}; {SHARED_CPU}",
        **result,
    }
    table = render(row)
    print(table)
    if not args.no_write:
        record_run("gate_e2e", row, lambda runs: render(runs[-1]))


if __name__ == "__main__":
    main()
