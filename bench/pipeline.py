"""Pipeline-overhead benchmark: items/s of `generate-batch` with an instant generator.

The generator (bench/instant_generator.py) answers every request at once with the
content type's deterministic fallback text for that record and section — a correct text
— so refinement passes every section at its first attempt, and the figures measure the
pipeline (ingest, plan, generate's bookkeeping, refine's checks, output's rendering and
stores, finish), not a model or retries. Products: `product_description` records from
bench/catalogue.py `shop_product`.

    python bench/pipeline.py                                 # SQLite + local store, 1k items
    python bench/pipeline.py --items 10000 --mode flow       # 10k, through the flow only
    python bench/pipeline.py --items 10000 --mode flow --database postgres   # + S3 server
    python bench/pipeline.py --items 10000 --mode flow --chunk-size 32       # the default
    python bench/pipeline.py --checks none                   # the pipeline without checks
    python bench/pipeline.py --mode stages --profile         # cProfile's top costs (printed)

`--mode flow` runs the real `generate-batch` flow (Prefect's ephemeral API, started and
warmed up before the timed runs). Each task's body is timed (bench/stage_timer.py): a
stage's time is its tasks' bodies, "Prefect" the rest of the flow's wall time (task and
flow runs, states, logs, artifacts). `--mode stages` calls the same task bodies in the
flow's order without Prefect. `--checks none` gives the tasks a copy of the content type
whose manifest lists no checks. `--database postgres` starts PostgreSQL and SeaweedFS
(tests/support/services.py) in a temporary folder. The default chunk size here is 500
items per task (COPYDESK_CHUNK_SIZE's default is 32).

Each run appends one JSON line to bench/results/pipeline.jsonl (with every chunk's
ms/item, to show whether the cost grows as the database fills); bench/results/pipeline.md
is rewritten with the latest run of each configuration.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.instant_generator import InstantGenerator, fallback_texts
from bench.stage_timer import STAGES, StageTimer, patched_tasks
from bench.support import (
    SHARED_CPU,
    code_version,
    copydesk_settings,
    machine,
    record_run,
    write_products_csv,
)
from copydesk.runtime import prepare_environment

KIND = "product_description"


def run_flow(source: Path, chunk_size: int, timer: StageTimer) -> int:
    from flows.generate_batch import generate_batch

    summary = generate_batch(source=str(source), content_type=KIND, chunk_size=chunk_size)
    return int(summary["batch_id"])


def run_stages(source: Path, chunk_size: int, timer: StageTimer) -> int:
    """The flow's task bodies in the flow's order, without Prefect and its artifacts
    (`patched_tasks` times the bodies; the finish is timed here)."""
    import tasks.batch
    import tasks.generate
    import tasks.ingest
    import tasks.output
    import tasks.plan
    import tasks.refine
    from copydesk.pipeline.batch import finish_batch
    from copydesk.reports.batches import batch_summary, items_table
    from tasks.common import database_url

    batch_id = tasks.ingest.start_batch_task.fn(KIND, str(source), {})
    tasks.ingest.ingest_task.fn(batch_id, None)
    for ids in tasks.batch.chunks_task.fn(batch_id, chunk_size):
        tasks.plan.plan_task.fn(KIND, ids)
        tasks.generate.generate_task.fn(ids, {})
        tasks.refine.refine_task.fn(KIND, ids, {})
        tasks.output.output_task.fn(KIND, ids)
    with timer.stage("finish"):
        finish_batch(database_url(), batch_id)
        batch_summary(database_url(), batch_id)
        items_table(database_url(), batch_id)
    return batch_id


def verify(url: str, batch_id: int, items: int) -> dict[str, int]:
    """Every item in review, every section passed at its first attempt."""
    from sqlalchemy import func, select

    from db.models import Finding, Generation, Item, Refinement
    from db.session import session_scope

    with session_scope(url, readonly=True) as session:
        statuses = select(Item.status, func.count()).where(Item.batch_id == batch_id)
        by_status = dict(session.execute(statuses.group_by(Item.status)).all())
        generations = session.scalar(select(func.count()).select_from(Generation)) or 0
        findings = session.scalar(select(func.count()).select_from(Finding)) or 0
        decisions = select(Refinement.decision, func.count()).group_by(Refinement.decision)
        by_decision = dict(session.execute(decisions).all())
    if by_status != {"pending_review": items} or set(by_decision) != {"passed"}:
        raise SystemExit(f"the batch did not pass cleanly: {by_status}, {by_decision}")
    passed = by_decision["passed"]
    return {
        "pending_review": items,
        "generations": generations,
        "passed": passed,
        "findings": findings,
    }


@contextmanager
def backends(database: str, folder: Path) -> Iterator[dict[str, str]]:
    """COPYDESK_* settings for a fresh database and store (servers started in `folder`)."""
    env = {"COPYDESK_ENV": "development", "COPYDESK_HOME": str(folder / "home")}
    if database == "sqlite":
        yield env | {"COPYDESK_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}"}
        return
    from tests.support.services import start_postgres, start_s3_server

    with ExitStack() as servers:
        postgres = start_postgres(folder / "pg")
        servers.callback(postgres.stop)
        s3 = start_s3_server(folder / "s3")
        servers.callback(s3.stop)
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.client().make_bucket(bucket)
        yield env | {
            "COPYDESK_DATABASE_URL": postgres.create_database("bench"),
            "COPYDESK_STORE": "s3",
            "COPYDESK_S3_ENDPOINT": s3.endpoint,
            "COPYDESK_S3_ACCESS_KEY": s3.access_key,
            "COPYDESK_S3_SECRET_KEY": s3.secret_key,
            "COPYDESK_S3_BUCKET": bucket,
        }


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children: Prefect's API server, PostgreSQL, SeaweedFS."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def content_type(checks: str) -> Any:
    from copydesk.content.types import load_content_type

    kind = load_content_type(KIND)
    return kind if checks == "all" else kind.model_copy(update={"checks": []})


def bench_one(args: argparse.Namespace, items: int, mode: str) -> dict[str, Any]:
    from db import migrate

    # Kept until the bench ends: ext4 makes a new file slowly while many were deleted in
    # the last minutes (it seems to skip their inodes), so a run would pay for the one before it.
    tmp = tempfile.mkdtemp(prefix=f"{items}-{mode}-", dir=args.work_root)
    with ExitStack() as stack:
        folder, setup = Path(tmp), time.perf_counter()
        source = folder / "products.csv"
        write_products_csv(source, items)
        kind = content_type(args.checks)
        generator = InstantGenerator(fallback_texts(source, kind))
        env = stack.enter_context(backends(args.database, folder))
        if args.check_threads is not None:
            env["COPYDESK_CHECK_THREADS"] = str(args.check_threads)
        stack.enter_context(copydesk_settings(env))
        migrate.upgrade(env["COPYDESK_DATABASE_URL"])
        forget_checked_texts(kind.language)
        setup_s, timer = time.perf_counter() - setup, StageTimer()
        changed = kind if args.checks != "all" else None  # else the tasks load it, as usual
        stack.enter_context(patched_tasks(generator, changed, timer))
        profile = cProfile.Profile() if args.profile else None
        children, load = children_cpu_seconds(), os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        batch_id = (run_flow if mode == "flow" else run_stages)(source, args.chunk_size, timer)
        if profile:
            profile.disable()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        children = children_cpu_seconds() - children
        checked = verify(env["COPYDESK_DATABASE_URL"], batch_id, items)
    row = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu": SHARED_CPU,
        "code": code_version(),
        "mode": mode,
        "database": args.database,
        "store": "local" if args.database == "sqlite" else "s3",
        "checks": args.checks,
        "items": items,
        "chunk_size": args.chunk_size,
        "check_threads": _check_threads(args),
        "work_dir": str(Path(args.work_root).parent),
        "wall_s": round(wall, 2),
        "items_per_s": round(items / wall, 1),
        "ms_per_item": round(1000 * wall / items, 3),
        "cpu_ms_per_item": round(1000 * cpu / items, 3),  # this process, all threads
        "children_cpu_s": round(children, 2),
        "stage_s": {k: round(v, 2) for k, v in timer.seconds.items()},
        "stage_cpu_s": {k: round(v, 2) for k, v in timer.cpu.items()},
        "prefect_s": round(wall - sum(timer.seconds.values()), 2) if mode == "flow" else 0.0,
        "generator_s": round(generator.seconds, 3),
        "setup_s": round(setup_s, 1),
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
        "chunk_ms_per_item": timer.chunk_ms_per_item(items, args.chunk_size),
        "chunk_cpu_ms_per_item": timer.chunk_ms_per_item(items, args.chunk_size, cpu=True),
        "stage_drift_ms_per_item": timer.stage_drift(items, args.chunk_size),
        "verified": checked,
    }
    if profile:
        row["profile_top"] = top_costs(profile)
    return row


def forget_checked_texts(language: str) -> None:
    """Drop what the checks keep from one text to the next (harper's lints, the scans for
    protected names, compiled wordings of values): every run's catalogue starts with the
    same products, and the run before must not have checked them already. The grammar
    checker for `language` is built again here, not in the timed run."""
    from copydesk.checks import grammar, patterns, protected

    grammar.grammar_checker.cache_clear()
    grammar._dialect_variant.cache_clear()
    protected._patterns.cache_clear()
    patterns.Anchored.of.cache_clear()
    grammar.grammar_checker(language).lint("Ready.")


def _check_threads(args: argparse.Namespace) -> int:
    from copydesk.settings import Settings

    return args.check_threads or Settings().check_threads


def top_costs(profile: cProfile.Profile, count: int = 25) -> list[str]:
    """cProfile's top functions by cumulative time, as printed lines."""
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative").print_stats(count)
    return [line for line in out.getvalue().splitlines() if line.strip()][-count:]


def _drift(chunks: list[float]) -> str:
    """Mean ms/item of the first and the last tenth of the chunks."""
    tenth = max(1, len(chunks) // 10)
    first, last = chunks[:tenth], chunks[-tenth:]
    return f"{sum(first) / len(first):.1f} → {sum(last) / len(last):.1f}"


def render(runs: list[dict[str, Any]]) -> str:
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for run in runs:
        key = (run["mode"], run["database"], run["checks"], run["chunk_size"], run["items"])
        latest[key] = run
    lines = [
        "# Pipeline overhead: generate-batch with an instant generator",
        "",
        "Latest run of each configuration (every run: pipeline.jsonl). ms per item: wall",
        "time; the stage columns are the stage's task bodies; Prefect is the rest of the",
        "flow's wall time. CPU: this process's CPU time (Prefect's API server, PostgreSQL",
        "and SeaweedFS run in other processes). Chunks: CPU ms/item of the first and the",
        "last tenth of the chunks (plan to output), to show whether the cost grows as the",
        "database fills.",
        f"Machine: {runs[-1]['machine']}; {SHARED_CPU}: wall times vary from run to run.",
        "",
        "| mode | database + store | checks | chunk | items | wall s | items/s | ms/item "
        "| CPU ms/item | ingest | plan | generate | refine | output | finish | Prefect "
        "| chunks, first → last |",
        "|" + "---|" * 17,
    ]
    order = sorted(latest, key=lambda k: (k[1] != "sqlite", k[2] != "all", k[0], k[3], k[4]))
    for key in order:
        run = latest[key]
        per_item = [1000 * run["stage_s"][s] / run["items"] for s in STAGES]
        per_item.append(1000 * run["prefect_s"] / run["items"])
        cells = [
            run["mode"],
            f"{run['database']} + {run['store']}",
            run["checks"],
            str(run["chunk_size"]),
            f"{run['items']:,}",
            f"{run['wall_s']:.1f}",
            f"{run['items_per_s']:.1f}",
            f"{run['ms_per_item']:.1f}",
            f"{run['cpu_ms_per_item']:.1f}",
            *(f"{ms:.1f}" if ms else "-" for ms in per_item),
            _drift(run["chunk_cpu_ms_per_item"])
            if "chunk_cpu_ms_per_item" in run
            else _drift(run["chunk_ms_per_item"]) + " (wall)",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000], help="batch sizes")
    parser.add_argument("--mode", choices=["flow", "stages", "both"], default="both")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--chunk-size", type=int, default=500, help="items per task")
    parser.add_argument("--checks", choices=["all", "none"], default="all")
    parser.add_argument(
        "--check-threads", type=int, help="COPYDESK_CHECK_THREADS (default: its default)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the runs and print the top costs"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where the runs' databases and local stores go (default: the system's temporary "
        "folder, $TMPDIR); removed when the bench ends",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    prepare_environment()
    started = time.perf_counter()
    work = tempfile.TemporaryDirectory(prefix="copydesk-bench-", dir=args.work_dir)
    args.work_root = work.name
    prefect_home = tempfile.TemporaryDirectory(prefix="copydesk-bench-prefect-")
    os.environ["PREFECT_HOME"] = prefect_home.name  # a fresh API database for this bench
    modes = ["flow", "stages"] if args.mode == "both" else [args.mode]
    for mode in modes:  # start Prefect's API, build harper's linter, fill template caches
        bench_one(argparse.Namespace(**{**vars(args), "profile": False}), 20, mode)
    for items in args.items:
        for mode in modes:
            row = bench_one(args, items, mode)
            print({k: v for k, v in row.items() if k not in ("profile_top", "machine")})
            print("\n".join(row.get("profile_top", [])), flush=True)
            if not args.no_write and not args.profile:  # a profiled run is slower: not kept
                print(record_run("pipeline", row, render))
    print(f"bench took {time.perf_counter() - started:.0f} s")
    work.cleanup()


if __name__ == "__main__":
    main()
