"""What the pipeline benchmarks share: the machine's description, Copydesk settings for
one run, a synthetic products CSV, and where results go."""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.catalogue import SHOP_COLUMNS, shop_product

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_CPU = "2 cores shared with other work (test suites of parallel sessions)"


def machine() -> str:
    """`AMD EPYC ..., 2 cores, Python 3.11.7`."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    cpu = next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def code_version() -> str:
    """The commit measured, and whether the working tree had changes on top of it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def write_products_csv(path: Path, count: int) -> int:
    """`count` distinct products (bench/catalogue.py `shop_product`) as a CSV; its bytes."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, SHOP_COLUMNS)
        writer.writeheader()
        for i in range(count):
            writer.writerow(shop_product(i))
    return path.stat().st_size


@contextmanager
def copydesk_settings(env: dict[str, str]) -> Iterator[None]:
    """Run with exactly these COPYDESK_* variables (others removed), fresh settings and
    engines; the previous environment comes back afterwards."""
    from copydesk.settings import get_settings
    from db.session import get_engine

    saved = {k: v for k, v in os.environ.items() if k.startswith("COPYDESK_")}
    for name in saved:
        del os.environ[name]
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("COPYDESK_")]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()
        for engine_url in env.get("COPYDESK_DATABASE_URL", "").split():
            get_engine(engine_url).dispose()
        get_engine.cache_clear()


def record_run(
    name: str, row: dict[str, Any], render: Callable[[list[dict[str, Any]]], str]
) -> str:
    """Append `row` to bench/results/NAME.jsonl; rewrite NAME.md from every run so far."""
    RESULTS.mkdir(exist_ok=True)
    history = RESULTS / f"{name}.jsonl"
    with history.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")
    runs = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines() if line]
    markdown = render(runs)
    (RESULTS / f"{name}.md").write_text(markdown, encoding="utf-8")
    return markdown
