"""Review-queue benchmark: how fast editors' pages load when 100k items wait for review.

Fills a fresh database with `--items` items in review (one batch per 10k, ~5% with failing
checks; rows inserted in bulk, no model involved), then times `copydesk.desk.review_queue.list_queue`
— the query behind the review app's queue page and `copydesk review list` — for the
first page, a deep page, each filter and sort, and `item_detail` for one item.

    python bench/review_queue.py                          # SQLite, 100k items
    python bench/review_queue.py --database-url postgresql+psycopg://…/db

Appends one JSON line per run to bench/results/review_queue.jsonl and rewrites
bench/results/review_queue.md with the latest table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).resolve().parent / "results"


def fill(url: str, items: int) -> None:
    from sqlalchemy import insert

    from copydesk.hashing import sha256_text
    from db import migrate
    from db.models import Batch, Item
    from db.session import session_scope

    migrate.upgrade(url)
    per_batch = 10_000
    for first in range(0, items, per_batch):
        with session_scope(url) as session:
            kind = "product_description" if (first // per_batch) % 2 else "restaurant"
            batch = Batch(content_type=kind, source="bench", options={}, status="completed")
            session.add(batch)
            session.flush()
            rows = [
                {
                    "batch_id": batch.id,
                    "source": "bench",
                    "row_number": n,
                    "input_record": {"name": f"Item {n}", "price": "9.99"},
                    "input_sha256": sha256_text(f"item-{n}"),
                    "status": "pending_review",
                    "check_errors": 2 if n % 20 == 0 else 0,
                    "version": 1,
                    "generation_round": 1,
                }
                for n in range(first, min(items, first + per_batch))
            ]
            session.execute(insert(Item), rows)
    if url.startswith("postgresql"):  # what autovacuum does to a table that just grew
        from db.session import get_engine

        with get_engine(url).connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE items"
            )


def timed(call: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of `repeat` calls (after one warm-up)."""
    call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp folder")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from copydesk.desk.item_view import item_detail
    from copydesk.desk.review_queue import QueueQuery, list_queue
    from copydesk.runtime import prepare_environment

    prepare_environment()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'queue.db'}"
        start = time.perf_counter()
        fill(url, args.items)
        fill_s = time.perf_counter() - start
        last_page = args.items // 50
        cases: dict[str, QueueQuery] = {
            "first page (50, oldest)": QueueQuery(),
            f"page {last_page // 2} (deep, oldest)": QueueQuery(page=last_page // 2),
            "newest first": QueueQuery(sort="newest"),
            "most errors first": QueueQuery(sort="errors"),
            "one batch": QueueQuery(batch_id=5),
            "failing checks only": QueueQuery(failing=True),
            "content type filter": QueueQuery(content_type="product_description"),
        }
        timings = {
            name: round(timed(lambda q=query: list_queue(url, q), args.repeat), 2)
            for name, query in cases.items()
        }
        timings["item page (item_detail)"] = round(
            timed(lambda: item_detail(url, args.items // 2), args.repeat), 2
        )
    backend = url.split(":", 1)[0]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": args.items,
        "database": backend,
        "fill_seconds": round(fill_s, 1),
        "median_ms": timings,
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    history = RESULTS / "review_queue.jsonl"
    with history.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    latest: dict[str, dict[str, Any]] = {}  # the latest run per database
    for line in history.read_text(encoding="utf-8").splitlines():
        run = json.loads(line)
        latest[run["database"]] = run
    lines = [f"# Review queue: median ms of {args.repeat} calls (a count plus one page query)", ""]
    for name, run in sorted(latest.items()):
        lines += [
            f"## {run['items']:,} items in review, {name} ({run['when']}, {run['machine']})",
            "",
            "| page | ms |",
            "|---|---|",
            *(f"| {page} | {ms} |" for page, ms in run["median_ms"].items()),
            "",
        ]
    (RESULTS / "review_queue.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
