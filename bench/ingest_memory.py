"""Ingest memory benchmark: peak RSS and rows/s ingesting a 1,000,000-row CSV into SQLite.

Writes `--rows` distinct products (bench/catalogue.py `shop_product`, the columns of
`product_description`) to a CSV in a temporary folder, creates the database, then runs
the ingest stage — `copydesk.pipeline.start_batch` + `ingest_batch`, what the `ingest`
task calls; no model, no Prefect — in a child process. The child samples its own RSS
with psutil every 0.2 s; the parent reads the child's peak from
`getrusage(RUSAGE_CHILDREN).ru_maxrss`. Target: peak RSS under 500 MB.

    python bench/ingest_memory.py                 # 1,000,000 rows (~4 minutes here)
    python bench/ingest_memory.py --rows 100000

Appends one JSON line per run to bench/results/ingest_memory.jsonl and rewrites
bench/results/ingest_memory.md with the runs so far.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import SHARED_CPU, code_version, machine, record_run, write_products_csv

KIND = "product_description"
MB = 1024 * 1024


def child(source: Path, url: str, chunk_size: int) -> None:
    """Ingest `source` into `url`; print what happened as one JSON line."""
    import psutil

    from copydesk.runtime import prepare_environment

    prepare_environment()
    from copydesk.pipeline.batch import start_batch
    from copydesk.pipeline.ingest import ingest_batch

    process, samples, done = psutil.Process(), [], threading.Event()
    started = time.perf_counter()

    def sample() -> None:
        while not done.wait(0.2):
            samples.append((time.perf_counter() - started, process.memory_info().rss))

    baseline = process.memory_info().rss  # after the imports, before any row
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    batch_id = start_batch(url, content_type=KIND, source=source, options={})
    counts = ingest_batch(url, batch_id, chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    quarters = [samples[min(len(samples) - 1, len(samples) * q // 4)][1] for q in (1, 2, 3, 4)]
    print(
        json.dumps(
            {
                "ingested": counts.done,
                "quarantined": counts.failed,
                "skipped": counts.skipped,
                "seconds": seconds,
                "baseline_rss_mb": baseline / MB,
                "sampled_peak_rss_mb": max(rss for _, rss in samples) / MB,
                "rss_at_quarters_mb": [rss / MB for rss in quarters],
                "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "modules_loaded": sorted(
                    name for name in ("torch", "transformers", "prefect") if name in sys.modules
                ),
            }
        )
    )


def run(rows: int, chunk_size: int) -> dict[str, Any]:
    from copydesk.runtime import prepare_environment
    from db import migrate

    prepare_environment()
    with tempfile.TemporaryDirectory(prefix="copydesk-ingest-") as tmp:
        folder = Path(tmp)
        source, database = folder / "products.csv", folder / "ingest.db"
        start = time.perf_counter()
        size = write_products_csv(source, rows)
        write_s = time.perf_counter() - start
        url = f"sqlite:///{database}"
        migrate.upgrade(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPYDESK_")}
        env |= {"COPYDESK_HOME": str(folder / "home"), "COPYDESK_DATABASE_URL": url}
        argv = [sys.executable, __file__, "--child", str(source), url, str(chunk_size)]
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"the ingest child failed:\n{done.stderr[-4000:]}")
        found = json.loads(done.stdout.strip().splitlines()[-1])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb, child_cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        database_mb = sum(p.stat().st_size for p in folder.glob("ingest.db*")) / MB
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu": SHARED_CPU,
        "code": code_version(),
        "rows": rows,
        "csv_mb": round(size / MB, 1),
        "csv_write_s": round(write_s, 1),
        "chunk_size": chunk_size,
        "database": "sqlite",
        "peak_rss_mb": round(peak_mb, 1),
        "target_mb": 500,
        "ingest_s": round(found["seconds"], 1),
        "rows_per_s": round(rows / found["seconds"]),
        "child_wall_s": round(wall, 1),
        "child_cpu_s": round(child_cpu, 1),
        "database_mb": round(database_mb, 1),
        **{k: _rounded(v) for k, v in found.items() if k != "seconds"},
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def render(runs: list[dict[str, Any]]) -> str:
    lines = [
        "# Ingest memory: a CSV of products into SQLite (ingest stage only, in a child process)",
        "",
        f"Machine: {runs[-1]['machine']}; {SHARED_CPU}. Target: peak RSS < 500 MB.",
        "",
        "| when | rows | CSV MB | chunk | peak RSS MB | RSS after imports MB "
        "| RSS at 25/50/75/100 % of the run MB | rows/s | ingest s | database MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        quarters = " / ".join(f"{mb:.0f}" for mb in run["rss_at_quarters_mb"])
        lines.append(
            f"| {run['when']} | {run['rows']:,} | {run['csv_mb']} | {run['chunk_size']} "
            f"| **{run['peak_rss_mb']:.0f}** | {run['baseline_rss_mb']:.0f} | {quarters} "
            f"| {run['rows_per_s']:,} | {run['ingest_s']} | {run['database_mb']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=500, help="rows per transaction")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    row = run(args.rows, args.chunk_size)
    print(json.dumps(row))
    if not args.no_write:
        print(record_run("ingest_memory", row, render))


if __name__ == "__main__":
    main()
