"""`copydesk` with crash points, for the fault-injection tests.

Run in a subprocess as `python -m tests.faults.crashpoints run FILE --type T ...` (the
repository root on PYTHONPATH): exactly the `copydesk` command, plus places where it can
be made to stop. `FAULT_POINTS` lists them as `event:n` (comma-separated): the n-th time
`event` happens in this process, it writes `<FAULT_DIR>/<event>-<n>.reached` and waits
until `<event>-<n>.go` appears (at most `FAULT_WAIT_S` seconds, then it exits with 3).
The test kills it there (kill -9 of its process group), or changes the world around it (a
server stopped or restarted) and lets it go on. Every event is also appended to
`<FAULT_DIR>/events.log` ("output 3"), so a test can see retries happen.

Events:
    ingest-txn  inside an ingest chunk's transaction, after its rows are inserted
    put         after an object-store put (an object written; its revision not yet)
    generate    at the start of a generate-stage call (a chunk, or a retry of one)
    output      at the start of an output-stage call (a chunk, or a retry of one)
    output-txn  inside the output stage's transaction, once a chunk: its items moved to
                review (not committed), when it looks for their model revisions

`FAULT_INGEST_CHUNK=N` makes ingest commit every N rows (instead of 500).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_counts: dict[str, int] = {}


def _points() -> set[tuple[str, int]]:
    points = set()
    for spec in filter(None, os.environ.get("FAULT_POINTS", "").split(",")):
        event, _, number = spec.strip().rpartition(":")
        points.add((event, int(number)))
    return points


def event(name: str) -> None:
    """Count `name`; stop here if it is a crash point (see the module's docstring)."""
    folder = Path(os.environ["FAULT_DIR"])
    with _lock:
        count = _counts[name] = _counts.get(name, 0) + 1
        with (folder / "events.log").open("a") as log:
            log.write(f"{name} {count}\n")
    if (name, count) not in _points():
        return
    (folder / f"{name}-{count}.reached").write_text(str(os.getpid()))
    go = folder / f"{name}-{count}.go"
    deadline = time.monotonic() + float(os.environ.get("FAULT_WAIT_S", "120"))
    while not go.exists():
        if time.monotonic() > deadline:
            print(f"crashpoints: nobody released {name} {count}", file=sys.stderr)
            os._exit(3)
        time.sleep(0.02)


def _after(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        event(name)
        return result

    return wrapper


def _before(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        event(name)
        return fn(*args, **kwargs)

    return wrapper


def install() -> None:
    import copydesk.pipeline.ingest
    import copydesk.storage
    import copydesk.storage.s3
    import db.repository
    import tasks.generate
    import tasks.output

    db.repository.add_items = _after("ingest-txn", db.repository.add_items)
    db.repository.with_model_revision = _after("output-txn", db.repository.with_model_revision)
    copydesk.storage.LocalStore.put = _after("put", copydesk.storage.LocalStore.put)  # type: ignore[method-assign]
    copydesk.storage.s3.S3Store.put = _after("put", copydesk.storage.s3.S3Store.put)  # type: ignore[method-assign]
    tasks.generate.generate_chunk = _before("generate", tasks.generate.generate_chunk)
    tasks.output.output_chunk = _before("output", tasks.output.output_chunk)
    if rows := os.environ.get("FAULT_INGEST_CHUNK"):
        chunked = copydesk.pipeline.ingest.chunked
        copydesk.pipeline.ingest.chunked = lambda items, _size: chunked(items, int(rows))


if __name__ == "__main__":
    import signal

    from copydesk.cli.main import main

    # As in a terminal, Ctrl-C raises KeyboardInterrupt: a test runner started in the
    # background by a non-interactive shell ignores SIGINT, and its children inherit that
    # (Python keeps an inherited SIG_IGN), which would make SIGINT tests depend on how
    # the suite was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    install()
    sys.exit(main(sys.argv[1:]))
