"""Generation benchmark: the naive per-prompt `pipeline` loop vs Copydesk's batched backend.

Same model (the bundled SmolLM2-135M-Instruct), same chat prompts, same greedy decoding
and max new tokens, measured in one process and interleaved (naive first half, batched
variants, naive second half) so machine drift hits both. The naive loop runs on the first
`--naive-prompts` prompts (it is slow); its tokens/s is a rate, and its outputs are
compared with the batched outputs for the same prompts.

    python bench/generation.py                     # ~5 minutes on a 2-core CPU
    python bench/generation.py --dtypes float32    # exact outputs only

Appends one JSON line per run to bench/results/generation.jsonl and rewrites
bench/results/generation.md with the latest table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from bench.catalogue import facts_carried, products, prompt
from copydesk.runtime import prepare_environment

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) of this process."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def mean_facts(records: list[dict[str, str]], texts: list[str]) -> float:
    """Mean share of each record's facts that its text carries."""
    return round(
        statistics.mean(facts_carried(r, t) for r, t in zip(records, texts, strict=True)), 3
    )


def run_naive(
    pipe: Any, tokenizer: Any, records: list[dict[str, str]], max_new: int
) -> dict[str, Any]:
    texts, tokens = [], 0
    started = time.perf_counter()
    for record in records:
        messages = [{"role": "user", "content": prompt(record)}]
        out = pipe(messages, max_new_tokens=max_new, do_sample=False, return_full_text=False)
        text = out[0]["generated_text"]
        texts.append(text.strip())
        tokens += len(tokenizer(text, add_special_tokens=False).input_ids)
    return {"texts": texts, "tokens": tokens, "seconds": time.perf_counter() - started}


def run_batched(generator: Any, records: list[dict[str, str]], max_new: int) -> dict[str, Any]:
    from copydesk.generation.base import Decoding, GenerationRequest

    decoding = Decoding(max_new_tokens=max_new)
    requests = [GenerationRequest.chat(prompt(r), decoding=decoding) for r in records]
    started = time.perf_counter()
    results = generator.generate(requests)
    seconds = time.perf_counter() - started
    return {
        "texts": [r.text for r in results],
        "tokens": sum(r.tokens_out for r in results),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=128, help="prompts for the batched backend")
    parser.add_argument(
        "--naive-prompts", type=int, default=32, help="prompts for the naive loop (>= 32)"
    )
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dtypes", default="float32,bfloat16", help="batched variants to run")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--no-cold", action="store_true", help="skip the cold (GGUF) load measurement"
    )
    args = parser.parse_args()

    prepare_environment()
    import torch
    from transformers import pipeline

    from copydesk.generation.bundled import prepare_bundled_model
    from copydesk.generation.hf_text import HFTextGenerator, load_text_model

    records = products(args.prompts)
    naive_records = records[: args.naive_prompts]
    half = len(naive_records) // 2
    row: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        },
        "versions": {
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
        },
        "settings": vars(args),
    }

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        if not args.no_cold:
            started = time.perf_counter()
            prepare_bundled_model(cache)  # GGUF → safetensors (first use on a machine)
            row["load_cold_s"] = round(time.perf_counter() - started, 2)
        else:
            prepare_bundled_model(cache)
        load_text_model.cache_clear()
        started = time.perf_counter()
        fp32 = HFTextGenerator(
            cache_dir=cache, device=args.device, dtype="float32", batch_size=args.batch_size
        )
        row["load_warm_s"] = round(time.perf_counter() - started, 2)
        row["model"] = {
            "id": fp32.identity.model_id,
            "revision": fp32.identity.revision,
            "device": fp32.identity.device,
        }

        pipe = pipeline("text-generation", model=fp32.loaded.model, tokenizer=fp32.loaded.tokenizer)
        phases: dict[str, dict[str, Any]] = {}

        def measure(name: str, fn: Any) -> dict[str, Any]:
            reset_peak_rss()
            result = fn()
            result["peak_rss_mb"] = round(peak_rss_mb())
            print(
                f"  {name}: {result['tokens']} tokens in {result['seconds']:.1f}s", file=sys.stderr
            )
            phases[name] = result
            return result

        measure(
            "naive_a",
            lambda: run_naive(
                pipe, fp32.loaded.tokenizer, naive_records[:half], args.max_new_tokens
            ),
        )
        generators = {"float32": fp32}
        for dtype in args.dtypes.split(","):
            generator = generators.get(dtype) or HFTextGenerator(
                cache_dir=cache, device=args.device, dtype=dtype, batch_size=args.batch_size
            )
            measure(
                f"batched_{dtype}", lambda g=generator: run_batched(g, records, args.max_new_tokens)
            )
        measure(
            "naive_b",
            lambda: run_naive(
                pipe, fp32.loaded.tokenizer, naive_records[half:], args.max_new_tokens
            ),
        )

    naive_texts = phases["naive_a"]["texts"] + phases["naive_b"]["texts"]
    naive_tokens = phases["naive_a"]["tokens"] + phases["naive_b"]["tokens"]
    naive_seconds = phases["naive_a"]["seconds"] + phases["naive_b"]["seconds"]
    naive_rate = naive_tokens / naive_seconds
    variants = [
        {
            "variant": "naive: pipeline() per prompt, fp32",
            "prompts": len(naive_records),
            "batch": 1,
            "tokens": naive_tokens,
            "seconds": round(naive_seconds, 1),
            "tok_s": round(naive_rate, 1),
            "ratio": 1.0,
            "peak_rss_mb": max(phases["naive_a"]["peak_rss_mb"], phases["naive_b"]["peak_rss_mb"]),
            "same_as_naive": f"{len(naive_records)}/{len(naive_records)}",
            "facts_carried": mean_facts(naive_records, naive_texts),
            "facts_carried_naive_prompts": mean_facts(naive_records, naive_texts),
        }
    ]
    for dtype in args.dtypes.split(","):
        phase = phases[f"batched_{dtype}"]
        texts = phase["texts"]
        same = sum(a == b for a, b in zip(texts, naive_texts, strict=False))
        rate = phase["tokens"] / phase["seconds"]
        variants.append(
            {
                "variant": f"copydesk batched, {dtype}",
                "prompts": len(records),
                "batch": args.batch_size,
                "tokens": phase["tokens"],
                "seconds": round(phase["seconds"], 1),
                "tok_s": round(rate, 1),
                "ratio": round(rate / naive_rate, 1),
                "peak_rss_mb": phase["peak_rss_mb"],
                "same_as_naive": f"{same}/{len(naive_texts)}",
                "mean_common_prefix_chars": round(
                    statistics.mean(
                        common_prefix(a, b) for a, b in zip(texts, naive_texts, strict=False)
                    ),
                    1,
                ),
                "facts_carried": mean_facts(records, texts),
                "facts_carried_naive_prompts": mean_facts(
                    naive_records, texts[: len(naive_records)]
                ),
            }
        )
    row["variants"] = variants
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "generation.jsonl").open("a") as handle:
        handle.write(json.dumps(row) + "\n")
    table = render(row)
    (RESULTS / "generation.md").write_text(table)
    print(table)


def render(row: dict[str, Any]) -> str:
    lines = [
        f"Generation benchmark, {row['date']}: {row['model']['id']} on {row['model']['device']} "
        f"({row['machine']['cpu']}, {row['machine']['cores']} cores), "
        f"{row['settings']['max_new_tokens']} new tokens, greedy.",
        f"Load: cold (GGUF → safetensors) {row.get('load_cold_s', 'n/a')} s, warm (cache) {row['load_warm_s']} s.",
        "",
        "| variant | prompts | batch | tokens | s | tok/s | x naive | peak RSS MB | same text as naive "
        "| facts carried (all / naive's prompts) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in row["variants"]:
        lines.append(
            f"| {v['variant']} | {v['prompts']} | {v['batch']} | {v['tokens']} | {v['seconds']} | {v['tok_s']} | "
            f"{v['ratio']}x | {v['peak_rss_mb']} | {v['same_as_naive']} | "
            f"{v['facts_carried']:.0%} / {v['facts_carried_naive_prompts']:.0%} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
