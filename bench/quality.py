"""Quality benchmark: the `restaurant` content type on the E2E NLG dev set.

Runs the real pipeline stages (ingest → plan → generate → refine → output; no Prefect,
which adds nothing to quality) with the bundled model over the first `--limit` distinct
meaning representations (MRs) of `../shared/data/e2e/devset.csv`, and scores:

- slot error rate (E2E definition: missing + added + wrong-value + repeated slots over
  the MR's slots) of the raw model (first attempt), of the final refined text, and of
  the dev set's own human references;
- BLEU (sacrebleu, multi-reference, against all the MR's references), raw and final;
- harper grammar lints per 100 words, raw and final;
- what refinement decided (passed / fixed / fallback / flagged) and the wall time.

    python bench/quality.py --limit 200      # ~10 minutes on a 2-core CPU

Appends one JSON line per run to bench/results/quality.jsonl and rewrites
bench/results/quality.md with the latest table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copydesk.runtime import prepare_environment

RESULTS = Path(__file__).resolve().parent / "results"
DEVSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e" / "devset.csv"


def load_devset(path: Path, limit: int) -> dict[str, list[str]]:
    """The first `limit` distinct MRs, each with all its human references, in file order."""
    references: dict[str, list[str]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            mr, ref = row.get("mr") or row["MR"], row["ref"]
            if mr not in references and len(references) >= limit:
                continue
            references.setdefault(mr, []).append(ref)
    return references


def bleu(hypotheses: list[str], references: list[list[str]]) -> float:
    """Corpus BLEU (0-1) against every reference of each hypothesis (sacrebleu pads)."""
    import sacrebleu

    width = max(len(refs) for refs in references)
    streams = [[refs[i] if i < len(refs) else "" for refs in references] for i in range(width)]
    return float(sacrebleu.corpus_bleu(hypotheses, streams).score) / 100


def run_pipeline(mrs: list[str], workdir: Path, max_attempts: int, chunk: int) -> int:
    """Run every stage over `mrs` into a fresh SQLite database; the batch id."""
    from copydesk.chunking import chunked
    from copydesk.content.types import load_content_type
    from copydesk.generation.backends import create_text_generator
    from copydesk.pipeline.batch import start_batch
    from copydesk.pipeline.ingest import ingest_batch
    from copydesk.pipeline.inline import run_stages
    from copydesk.pipeline.types import GenerationOptions, RunIds
    from copydesk.settings import get_settings
    from copydesk.storage import LocalStore
    from db import migrate
    from db.models import ItemStatus
    from db.repository import item_ids
    from db.session import session_scope

    source = workdir / "mrs.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mr"])
        writer.writerows([mr] for mr in mrs)
    url = f"sqlite:///{workdir / 'bench.db'}"
    migrate.upgrade(url)
    kind = load_content_type("restaurant")
    generator = create_text_generator(get_settings())
    options, run = GenerationOptions(max_attempts=max_attempts), RunIds()
    batch_id = start_batch(url, content_type="restaurant", source=source, options={})
    ingest_batch(url, batch_id)
    with session_scope(url, readonly=True) as session:
        ids = item_ids(session=session, batch_id=batch_id, statuses=(ItemStatus.INGESTED,))
    store = LocalStore(workdir / "store")
    done = 0
    for part in chunked(ids, chunk):
        run_stages(url, part, kind, generator, store, options, run)
        done += len(part)
        print(f"  {done}/{len(ids)} items", file=sys.stderr, flush=True)
    return batch_id


def score(workdir: Path, batch_id: int, references: dict[str, list[str]]) -> dict[str, Any]:
    """Raw and final texts of every item, scored against its MR and references."""
    from sqlalchemy import select

    from copydesk.checks.grammar import check_grammar
    from copydesk.checks.metrics import count_words
    from copydesk.checks.slots import slot_error_rate, slot_errors
    from copydesk.content.types import load_content_type
    from copydesk.inputs.records import record_strings
    from db.models import Generation, Item, Refinement
    from db.session import session_scope

    kind = load_content_type("restaurant")
    url = f"sqlite:///{workdir / 'bench.db'}"
    raw, final, decisions = [], [], Counter[str]()
    with session_scope(url, readonly=True) as session:
        items = session.scalars(
            select(Item).where(Item.batch_id == batch_id).order_by(Item.row_number)
        ).all()
        for item in items:
            first = session.scalars(
                select(Generation).where(Generation.item_id == item.id, Generation.attempt == 1)
            ).one()
            refinement = session.scalars(
                select(Refinement).where(Refinement.item_id == item.id)
            ).one()
            decisions[refinement.decision] += 1
            raw.append((item.input_record, first.output))
            final.append((item.input_record, refinement.text))
    # One item per MR, in file order (the MRs are distinct, so ingest dedupes nothing).
    refs_by_item = list(references.values())
    if len(final) != len(refs_by_item):
        raise SystemExit(f"{len(final)} items for {len(refs_by_item)} MRs: some were not ingested")
    records = [record for record, _ in final]

    def ser(pairs: list[tuple[dict[str, Any], str]]) -> float:
        return slot_error_rate(slot_errors(record, text, kind) for record, text in pairs)

    def lints(pairs: list[tuple[dict[str, Any], str]]) -> float:
        """harper lints per 100 words, the record's values protected (as the pipeline does)."""
        words = sum(count_words(text) for _, text in pairs)
        found = sum(
            len(check_grammar(text, language=kind.language, protected=record_strings(record)))
            for record, text in pairs
        )
        return 100 * found / words if words else 0.0

    human = [
        (record, ref)
        for record, mr_refs in zip(records, refs_by_item, strict=True)
        for ref in mr_refs
    ]
    return {
        "items": len(final),
        "decisions": dict(sorted(decisions.items())),
        "ser_raw": ser(raw),
        "ser_final": ser(final),
        "ser_references": ser(human),
        "bleu_raw": bleu([t for _, t in raw], refs_by_item),
        "bleu_final": bleu([t for _, t in final], refs_by_item),
        "lints_per_100_words_raw": lints(raw),
        "lints_per_100_words_final": lints(final),
        "lints_per_100_words_references": lints(human),
    }


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{cpu}, {os.cpu_count()} cores"


def render(row: dict[str, Any]) -> str:
    """The Markdown table of one run (README summarises it)."""

    def pct(value: float) -> str:
        return f"{100 * value:.2f} %"

    decisions = ", ".join(f"{k} {v}" for k, v in row["decisions"].items())
    return (
        f"Quality benchmark, {row['date']}: `restaurant` on the first {row['items']} distinct MRs "
        f"of the E2E dev set, {row['model']} on {row['device']} ({row['machine']}), "
        f"up to {row['max_attempts']} attempts per section. Wall time {row['wall_s']:.0f} s "
        f"({row['generations']} generations).\n\n"
        "| text | slot error rate | BLEU | grammar lints / 100 words |\n|---|---|---|---|\n"
        f"| raw model (first attempt) | {pct(row['ser_raw'])} | {row['bleu_raw']:.4f} "
        f"| {row['lints_per_100_words_raw']:.2f} |\n"
        f"| final (after refinement) | {pct(row['ser_final'])} | {row['bleu_final']:.4f} "
        f"| {row['lints_per_100_words_final']:.2f} |\n"
        f"| human references of the dev set | {pct(row['ser_references'])} | - "
        f"| {row['lints_per_100_words_references']:.2f} |\n\n"
        f"Refinement decisions per item: {decisions}.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="distinct MRs (default 200)")
    parser.add_argument("--max-attempts", type=int, default=3, help="attempts per section")
    parser.add_argument("--chunk", type=int, default=32, help="items per stage call")
    parser.add_argument("--devset", type=Path, default=DEVSET, help="E2E dev set CSV")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    prepare_environment()
    from sqlalchemy import func, select

    from copydesk.generation.backends import create_text_generator
    from copydesk.settings import get_settings
    from db.models import Generation
    from db.session import session_scope

    references = load_devset(args.devset, args.limit)
    identity = create_text_generator(get_settings()).identity
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="copydesk-quality-") as tmp:
        workdir = Path(tmp)
        batch_id = run_pipeline(list(references), workdir, args.max_attempts, args.chunk)
        wall = time.perf_counter() - started
        row = score(workdir, batch_id, references)
        with session_scope(f"sqlite:///{workdir / 'bench.db'}", readonly=True) as session:
            generations = session.scalar(select(func.count()).select_from(Generation))
    row = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "model": identity.model_id,
        "device": f"{identity.device}/{identity.dtype}",
        "max_attempts": args.max_attempts,
        "wall_s": round(wall, 1),
        "generations": generations,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()},
    }
    table = render(row)
    print(table)
    print(json.dumps(row))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "quality.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        (RESULTS / "quality.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
