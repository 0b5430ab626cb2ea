"""Speed of the checks against invented content: `grounding`, `subject` and `claims` on
every section text of the gate's corpus (tests/copydesk/checks/test_gate_corpus.py: the
inventing texts, the sample of cleaned E2E dev references, the built-in fallbacks), the
three checks together per section, in this process. Target: <= 1 ms per section.

Two passes, after one untimed pass over a few texts (patterns are compiled once per
content type and process): "cold" empties the per-record caches first (each record's
support is worked out on its first text, as for an item's first section); "warm" runs the same
texts again, `--repeat` times, each text's best time kept (this machine's other work adds
pauses of milliseconds to a few texts of any pass). Reported: mean, median,
99th percentile and maximum per section, over all texts and apart for the honest texts
(what a passing section costs) and the inventing ones (an unsupported number makes
grounding ask `no_invented_values`' reading of the text, ~1.5 ms). The target is met when
the mean of every pass is at most 1 ms.

    python bench/grounding.py              # appends to bench/results/grounding.jsonl
    python bench/grounding.py --repeat 9   # nine warm passes (default 5)

Each run appends a JSON line to bench/results/grounding.jsonl and rewrites
bench/results/grounding.md."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import SHARED_CPU, code_version, machine, record_run
from copydesk.checks import claims, grounding, subject
from copydesk.checks.consistency import _Folded
from copydesk.content.types import ContentType
from copydesk.runtime import prepare_environment
from tests.copydesk.checks.test_gate_corpus import honest, inventing

TARGET_MS = 1.0


def _gate(text: str, kind: ContentType, record: dict[str, Any]) -> int:
    found = grounding.check_grounding(text, kind, record)
    found += subject.check_subject(text, kind, record)
    found += claims.check_claims(text, kind, record)
    return len(found)


def _empty_caches() -> None:
    """Forget every record's support and every folded text (`per_object` keeps its values
    in the closure of the function it returns); patterns compiled per content type (the
    claims, the vocabularies' wordings) are kept, as a running worker keeps them."""
    _Folded.of.cache_clear()  # type: ignore[attr-defined]
    for value in vars(grounding).values():
        for cell in getattr(value, "__closure__", None) or ():
            if isinstance(cell.cell_contents, OrderedDict):
                cell.cell_contents.clear()


def _timed(texts: list[tuple[str, ContentType, dict[str, Any]]]) -> list[float]:
    times = []
    for text, kind, record in texts:
        started = time.perf_counter()
        _gate(text, kind, record)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "mean_ms": round(statistics.fmean(times), 4),
        "median_ms": round(statistics.median(times), 4),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)], 4),
        "max_ms": round(ordered[-1], 4),
    }


def render(runs: list[dict[str, Any]]) -> str:
    lines = [
        "# Grounding, subject and claims: time per section",
        "",
        "`python bench/grounding.py`: the three checks together on each section text of the",
        "gate's corpus; target: a mean of <= 1 ms per section. Latest run first.",
        "",
        "| when | code | texts | cold mean / p99 ms | warm mean / median / p99 / max ms "
        "| warm honest mean / p99 ms | warm inventing mean / p99 ms | target met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in reversed(runs):
        cold, warm = run["cold"], run["warm"]
        lines.append(
            f"| {run['when'][:16]} | {run['code']} | {run['texts']} | "
            f"{cold['mean_ms']:.3f} / {cold['p99_ms']:.3f} | {warm['mean_ms']:.3f} / "
            f"{warm['median_ms']:.3f} / {warm['p99_ms']:.3f} / {warm['max_ms']:.3f} | "
            f"{run['warm_honest']['mean_ms']:.3f} / {run['warm_honest']['p99_ms']:.3f} | "
            f"{run['warm_inventing']['mean_ms']:.3f} / {run['warm_inventing']['p99_ms']:.3f} | "
            f"{'yes' if run['met'] else 'no'} |"
        )
    latest = runs[-1]
    lines += ["", f"Machine: {latest['machine']}; {latest['cpu']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm passes; each text's best")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    prepare_environment()
    invent = [(t, k, r) for t, k, r, _ in inventing()]
    texts = invent + honest()
    for text, kind, record in texts[:: len(texts) // 20]:
        _gate(text, kind, record)  # compile the content types' patterns
    _empty_caches()
    cold = _timed(texts)
    passes = [_timed(texts) for _ in range(args.repeat)]
    warm = [min(times) for times in zip(*passes, strict=True)]  # each text's best: less noise
    slowest = max(range(len(texts)), key=warm.__getitem__)
    apart = {"inventing": warm[: len(invent)], "honest": warm[len(invent) :]}
    row = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu": SHARED_CPU,
        "code": code_version(),
        "texts": len(texts),
        "chars_mean": round(statistics.fmean(len(t) for t, _, _ in texts), 1),
        "cold": _summary(cold),
        "warm": _summary(warm),
        "warm_honest": _summary(apart["honest"]),
        "warm_inventing": _summary(apart["inventing"]),
        "slowest_text": texts[slowest][0][:200],
        "target_ms": TARGET_MS,
        "met": max(statistics.fmean(cold), statistics.fmean(warm)) <= TARGET_MS,
    }
    print({k: v for k, v in row.items() if k != "slowest_text"})
    if not args.no_write:
        print(record_run("grounding", row, render))


if __name__ == "__main__":
    main()
