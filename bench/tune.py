"""Tuning benchmark: a LoRA adapter for `restaurant` on the E2E dev set's tune split.

Reads `../shared/data/e2e/devset-cleaned.csv` (texts that realise exactly their MRs),
renders every MR through the `restaurant` plan (the prompts a batch sends), holds out
`--eval-mrs` MRs (seeded, by MR: none of their references is trained on), trains the
bundled model (or `--model FOLDER`) on the rest, and scores the first greedy attempt on
the held-out MRs, with the adapter (and the base model with `--eval-base`):
slot error rate (E2E definition) and BLEU against all references.

Records examples/s, tokens/s, peak RSS and wall time (training, evaluation) as one JSON
line in bench/results/tune.jsonl and the latest table in bench/results/tune.md.

    python bench/tune.py --smoke                 # 2 steps, 8 eval MRs: ~1 minute
    python bench/tune.py --steps 60 --eval-base --out runs/restaurant-e2e
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import SHARED_CPU, code_version, machine, record_run
from copydesk.runtime import prepare_environment

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e" / "devset-cleaned.csv"


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=DEVSET, help="E2E CSV (mr, ref)")
    parser.add_argument("--model", default="bundled", help="`bundled` or a local model folder")
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps (default 60)")
    parser.add_argument("--batch-size", type=int, default=4, help="examples per forward pass")
    parser.add_argument("--accumulation", type=int, default=4, help="forward passes per step")
    parser.add_argument("--learning-rate", type=float, default=None, help="default 2e-4")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--full", action="store_true", help="full fine-tuning, not LoRA")
    parser.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float32"))
    parser.add_argument("--seed", type=int, default=0, help="split, order and init seed")
    parser.add_argument("--eval-mrs", type=int, default=200, help="MRs held out (>= 100)")
    parser.add_argument("--eval-limit", type=int, default=None, help="score only N of them")
    parser.add_argument("--eval-base", action="store_true", help="score the base model too")
    parser.add_argument("--checkpoint-every", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: temp)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--smoke", action="store_true", help="2 steps of 2x2, 8 eval MRs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--write", action="store_true", help="write results of a --smoke run")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.batch_size, args.accumulation = 2, 2, 2
        args.eval_limit, args.checkpoint_every = args.eval_limit or 8, 1
        args.no_write = not args.write
    return args


def run(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    from copydesk.content.types import load_content_type
    from copydesk.settings import get_settings
    from copydesk.tuning.base_model import resolve_base_model
    from copydesk.tuning.evaluation import eval_inputs, first_attempts, load_generator, score_texts
    from copydesk.tuning.examples import examples_from_references, split_by_input
    from copydesk.tuning.hyperparameters import TuneSettings
    from copydesk.tuning.loop import Progress
    from copydesk.tuning.training import tune

    started = time.perf_counter()
    kind = load_content_type("restaurant")
    found = examples_from_references(args.devset, kind, text_column="ref")
    split = split_by_input(found.examples, eval_inputs=args.eval_mrs, seed=args.seed)
    base = resolve_base_model(args.model, get_settings().resolved_model_cache)
    settings = TuneSettings(
        method="full" if args.full else "lora",
        steps=args.steps,
        batch_size=args.batch_size,
        gradient_accumulation=args.accumulation,
        learning_rate=args.learning_rate,
        lora_r=args.lora_r,
        seed=args.seed,
        dtype=args.dtype,
        checkpoint_every=args.checkpoint_every,
    )

    def show(p: Progress) -> None:
        print(
            f"  step {p.step}/{p.steps}  loss {p.loss:.4f}  lr {p.learning_rate:.2e}  "
            f"{p.examples_per_s:.2f} examples/s  {p.tokens_per_s:.0f} tokens/s  "
            f"{p.elapsed_s:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    prepared = time.perf_counter()
    result = tune(base, split.train, run_dir, settings, resume=args.resume, on_step=show)
    trained = time.perf_counter()
    rss_train = peak_rss_mb()
    inputs = eval_inputs(split.eval, limit=args.eval_limit)
    scores: dict[str, Any] = {}
    variants = [("adapter", result.artifact)] + ([("base", None)] if args.eval_base else [])
    for name, adapter in variants:
        begun = time.perf_counter()
        generator = load_generator(base, adapter, dtype=args.dtype)
        texts = first_attempts(generator, kind, inputs)
        scores[name] = score_texts(kind, inputs, texts) | {
            "seconds": round(time.perf_counter() - begun, 1),
            "dtype": generator.identity.dtype,
            "samples": texts[:3],
        }
        del generator
    meta = result.metadata
    return {
        "data": {
            "file": args.devset.name,
            **found.counts(),
            "train_examples": len(split.train),
            "train_mrs": len({e.input_key for e in split.train}),
            "eval_mrs": len({e.input_key for e in split.eval}),
            "eval_scored_mrs": len(inputs),
            "digest": meta["data"]["digest"],
            "tokens": meta["data"]["tokens"],
        },
        "base_model": meta["base_model"] | {"folder": None},
        "settings": meta["settings"],
        "device": f"{meta['device']}/{meta['dtype']}",
        "steps": meta["steps"],
        "resumed_from_step": meta["resumed_from_step"],
        "throughput": meta["throughput"],
        "seconds_per_step": round(meta["throughput"]["train_s"] / max(1, meta["steps"]), 2),
        "loss_first_last": [meta["loss_curve"][0][1], meta["loss_curve"][-1][1]],
        "adapter": {"sha256": result.sha256, "bytes": meta["artifact"]["bytes"]},
        "prepare_s": round(prepared - started, 1),
        "train_wall_s": round(trained - prepared, 1),
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb_train": rss_train,
        "peak_rss_mb": peak_rss_mb(),
        "eval": scores,
        "run_dir": str(run_dir),
    }


def render(row: dict[str, Any]) -> str:
    def pct(value: float) -> str:
        return f"{100 * value:.2f} %"

    rate = row["throughput"]
    lines = [
        f"Tuning benchmark, {row['date']} ({row['code']}): LoRA r={row['settings']['lora_r']} "
        f"on {row['base_model']['id']}, {row['device']}, {row['machine']}"
        f"{' (smoke run)' if row['smoke'] else ''}. {row['steps']} steps of "
        f"{row['settings']['batch_size']}x{row['settings']['gradient_accumulation']} examples "
        f"from {row['data']['train_examples']} ({row['data']['train_mrs']} MRs) of "
        f"{row['data']['file']}; {row['data']['eval_mrs']} MRs held out, "
        f"{row['data']['eval_scored_mrs']} scored.\n",
        f"Training: {row['train_wall_s']:.0f} s ({row['seconds_per_step']} s/step), "
        f"{rate['examples_per_s']} examples/s, {rate['tokens_per_s']:.0f} tokens/s, "
        f"peak RSS {row['peak_rss_mb_train']:.0f} MB; loss {row['loss_first_last'][0]:.3f} → "
        f"{row['loss_first_last'][1]:.3f}; adapter {row['adapter']['bytes'] / 1e6:.1f} MB. "
        f"Wall time {row['wall_s']:.0f} s in all.\n",
        "| first greedy attempt | slot error rate | BLEU | texts with slot errors | eval s |",
        "|---|---|---|---|---|",
    ]
    for name, score in row["eval"].items():
        lines.append(
            f"| {name} | {pct(score['slot_error_rate'])} | {score['bleu']:.4f} "
            f"| {score['texts_with_slot_errors']} of {score['inputs']} | {score['seconds']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    prepare_environment()
    with tempfile.TemporaryDirectory(prefix="copydesk-tune-") as tmp:
        run_dir = args.out or Path(tmp) / "run"
        row = run(args, run_dir)
    row = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version(),
        "machine": f"{machine()}; {SHARED_CPU}",
        "smoke": args.smoke,
        **row,
    }
    print(render(row))
    print(json.dumps(row, ensure_ascii=False))
    if not args.no_write:
        record_run("tune", row, lambda runs: render(runs[-1]))


if __name__ == "__main__":
    main()
