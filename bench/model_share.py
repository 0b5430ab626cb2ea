"""Model-share benchmark: how much of a real batch's wall time is spent outside the model.

Runs the real `generate-batch` flow (Prefect's ephemeral API) with the configured text
model — by default the bundled SmolLM2-135M-Instruct on CPU — over `--limit` synthetic
products (bench/catalogue.py `shop_product`), and times every call into the model. The
share outside generation is (flow wall time - time inside the model's `generate`) / flow
wall time; target: at most 10 %. The model is loaded before the flow starts (its load
time is reported apart), and the Prefect API and the model are warmed up with a
2-product batch (one attempt) first. 30 products, not 100, by default: with up to three
attempts per section the bundled model on 2 CPU cores needs ~20 minutes for 100.

    python bench/model_share.py                                 # 30 products, up to 3 attempts (~8 min here)
    python bench/model_share.py --limit 100 --max-attempts 1    # 100 products, one attempt (~13 min here)
    python bench/model_share.py --limit 100                     # 100 products, up to 3 attempts (~20 min)

Appends one JSON line per run to bench/results/model_share.jsonl and rewrites
bench/results/model_share.md with the runs so far.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
REPO = Path(__file__).resolve().parent.parent


@dataclass
class TimedGenerator:
    """The real generator, with the wall time of every `generate` call added up."""

    inner: Any
    seconds: float = 0.0
    calls: int = 0
    requests: int = 0

    @property
    def identity(self) -> Any:
        return self.inner.identity

    def generate(self, requests: Sequence[Any]) -> list[Any]:
        start = time.perf_counter()
        try:
            return list(self.inner.generate(requests))
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1
            self.requests += len(requests)


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def lineage(url: str) -> dict[str, Any]:
    """What the database recorded: generations, their tokens and duration_s, decisions."""
    from sqlalchemy import func, select

    from db.models import Generation, Refinement
    from db.session import session_scope

    with session_scope(url, readonly=True) as session:
        count, tokens, duration = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Generation.tokens_out), 0),
                func.coalesce(func.sum(Generation.duration_s), 0.0),
            )
        ).one()
        decisions = select(Refinement.decision, func.count()).group_by(Refinement.decision)
        by_decision = dict(session.execute(decisions).all())
    return {
        "generations": count,
        "tokens_out": tokens,
        "generations_duration_s": round(float(duration), 1),
        "decisions": dict(sorted(by_decision.items())),
    }


def run_batch(source: Path, args: argparse.Namespace) -> None:
    from flows.generate_batch import generate_batch

    options = {"max_attempts": args.max_attempts}
    generate_batch(
        source=str(source), content_type=KIND, chunk_size=args.chunk_size, generation=options
    )


def bench(args: argparse.Namespace) -> dict[str, Any]:
    from copydesk.generation.backends import create_text_generator
    from copydesk.settings import get_settings
    from db import migrate

    with tempfile.TemporaryDirectory(prefix="copydesk-share-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'share.db'}"
        env = {
            "COPYDESK_ENV": "development",
            "COPYDESK_HOME": str(folder / "home"),
            "COPYDESK_DATABASE_URL": url,
            "COPYDESK_MODEL_CACHE": str(args.model_cache),
        }
        env |= {k: v for k, v in os.environ.items() if k.startswith("COPYDESK_TEXT_")}
        with copydesk_settings(env):
            migrate.upgrade(url)
            start = time.perf_counter()
            generator = TimedGenerator(create_text_generator(get_settings()))
            load_s = time.perf_counter() - start
            warm, source = folder / "warm.csv", folder / "products.csv"
            write_products_csv(warm, 2)
            write_products_csv(source, args.limit)
            with patched_tasks(generator, None, StageTimer()):  # Prefect's API, harper,
                run_batch(warm, argparse.Namespace(**{**vars(args), "max_attempts": 1}))  # torch
            generator.seconds = 0.0
            generator.calls = generator.requests = 0
            timer = StageTimer()
            with patched_tasks(generator, None, timer):
                load, start = os.getloadavg()[0], time.perf_counter()
                run_batch(source, args)
                wall = time.perf_counter() - start
            recorded = lineage(url)
    identity = generator.identity
    outside = wall - generator.seconds
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu": SHARED_CPU,
        "code": code_version(),
        "model": identity.model_id,
        "device": f"{identity.device}/{identity.dtype}",
        "products": args.limit,
        "max_attempts": args.max_attempts,
        "chunk_size": args.chunk_size,
        "torch_threads": torch_threads(),
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
        "load_s": round(load_s, 1),
        "wall_s": round(wall, 1),
        "generate_s": round(generator.seconds, 1),
        "outside_s": round(outside, 1),
        "outside_share": round(outside / wall, 4),
        "target_share": 0.10,
        "generate_calls": generator.calls,
        "requests": generator.requests,
        "stage_s": {k: round(v, 1) for k, v in timer.seconds.items()},
        "prefect_s": round(wall - sum(timer.seconds.values()), 1),
        # the warm-up batch's rows are in the same database
        "lineage_including_warm_up": recorded,
    }


def render(runs: list[dict[str, Any]]) -> str:
    lines = [
        "# Model share: wall time of a real batch spent outside the model",
        "",
        f"Machine: {runs[-1]['machine']}; {SHARED_CPU}. Target: at most 10 % outside the model.",
        "Stage columns: seconds of the stage's task bodies (generate and refine include the",
        "model calls they make); Prefect: the rest of the flow's wall time.",
        "",
        "| when | model | products | attempts | chunk | wall s | in the model s "
        "| **outside the model** | " + " | ".join(STAGES) + " | Prefect | refine decisions |",
        "|" + "---|" * (8 + len(STAGES) + 2),
    ]
    for run in runs:
        decisions = ", ".join(
            f"{k} {v}" for k, v in run["lineage_including_warm_up"]["decisions"].items()
        )
        stages = " | ".join(f"{run['stage_s'][s]:.1f}" for s in STAGES)
        lines.append(
            f"| {run['when']} | {run['model']} ({run['device']}) | {run['products']} "
            f"| {run['max_attempts']} | {run['chunk_size']} | {run['wall_s']:.1f} "
            f"| {run['generate_s']:.1f} | **{100 * run['outside_share']:.1f} %** "
            f"({run['outside_s']:.1f} s) | {stages} | {run['prefect_s']:.1f} | {decisions} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=30, help="products (default 30)")
    parser.add_argument("--max-attempts", type=int, default=3, help="attempts per section")
    parser.add_argument("--chunk-size", type=int, default=32, help="items per task")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=Path(os.environ.get("COPYDESK_MODEL_CACHE", REPO / ".copydesk" / "models")),
        help="converted models (default: the repository's .copydesk/models)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    prepare_environment()
    prefect_home = tempfile.TemporaryDirectory(prefix="copydesk-bench-prefect-")
    os.environ["PREFECT_HOME"] = prefect_home.name  # a fresh API database for this bench
    started = time.perf_counter()
    row = bench(args)
    print(row)
    if not args.no_write:
        print(record_run("model_share", row, render))
    print(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
