"""CLI commands for batches: `run`, `batches`, `items`, `show`, `export`."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from copydesk.cli.home import ready_home
from copydesk.cli.interrupts import exit_now, signal_of, stop_on_sigterm
from copydesk.content.types import load_content_type
from copydesk.errors import ConfigurationError, CopydeskError
from copydesk.generation.meter import METER
from copydesk.settings import Settings, get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DONE_STATUSES = ("pending_review", "approved", "rejected", "published", "failed", "quarantined")


def format_counts(counts: dict[str, int]) -> str:
    """`{"failed": 1, "pending_review": 7}` → "1 failed, 7 pending_review"."""
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def run(
    source: Annotated[
        str | None,
        typer.Argument(
            help="Input file: CSV (header row), JSONL or JSON array; or the input files under "
            "an object-store prefix: store:inbox/products/ (or s3://BUCKET/inbox/products/)."
        ),
    ] = None,
    content_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Content type (a folder of templates/).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows.", min=1)] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Items per task (default: COPYDESK_CHUNK_SIZE).", min=1)
    ] = None,
    temperature: Annotated[float, typer.Option(help="0 = greedy decoding.")] = 0.0,
    max_attempts: Annotated[
        int, typer.Option(help="Generation attempts per section (refinement).", min=1)
    ] = 3,
    candidates: Annotated[
        int | None,
        typer.Option(
            help="Texts per attempt; the checks choose (default: each section's manifest "
            "`candidates:`, else 1).",
            min=1,
            max=16,
        ),
    ] = None,
    beams: Annotated[
        int | None,
        typer.Option(
            help="Beam search for the first attempt's first text, with this many beams; 1 is "
            "greedy (default: each section's manifest `beams:`, else 1).",
            min=1,
            max=16,
        ),
    ] = None,
    resume: Annotated[
        int | None, typer.Option("--resume", help="Resume batch ID where it stopped.")
    ] = None,
    images: Annotated[
        bool,
        typer.Option(
            "--images", help="Also an image per item (the type's `image:`, COPYDESK_IMAGE_MODEL)."
        ),
    ] = False,
    model_version: Annotated[
        str | None,
        typer.Option(
            "--model-version",
            help="Tuned model version to write with (name or id; `base`: the base model). "
            "Default: the content type's promoted version.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on the last line.")
    ] = False,
) -> None:
    """Run the generate-batch flow on a file or a store prefix: ingest → … → output."""
    # The progress bar says enough on the terminal; the run's INFO logs still reach the
    # Prefect API (its UI shows them), only the console handler is quiet.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    settings = get_settings()
    url = ready_home()
    from copydesk.pipeline.batch import resume_point, start_batch

    if images and content_type is not None:  # fail before a batch starts
        from copydesk.content.images import image_spec

        image_spec(load_content_type(content_type), settings.image_model)
    if resume is not None:
        point = resume_point(url, resume)
        if model_version is not None and model_version != (point.model_version or "base"):
            raise ConfigurationError(
                f"batch {resume} writes with {point.model_version or 'the base model'}; "
                "a resumed batch keeps its model version (start a new batch for another)"
            )
        source, content_type, limit = point.source, point.content_type, point.limit
        chunk_size = chunk_size or point.chunk_size
        batch_id = resume
    else:
        if source is None:
            raise ConfigurationError("give an input file and --type (or --resume BATCH_ID)")
        if content_type is None:
            from copydesk.content.types import list_content_types

            kinds = ", ".join(list_content_types())
            raise ConfigurationError(
                f"--type is missing: which content type are the records of {source}? "
                f"(one of: {kinds}; e.g. copydesk run {source} --type {kinds.split(', ')[0]})"
            )
        source = _checked_source(source, settings)
        load_content_type(content_type)
        options = {
            "limit": limit,
            "chunk_size": chunk_size or settings.chunk_size,
            "temperature": temperature,
            "max_attempts": max_attempts,
            "candidates": candidates,
            "beams": beams,
            "images": images,
            "model_version": model_version,
        }
        batch_id = start_batch(
            url,
            content_type=content_type,
            source=source,
            options=options,
            use_promoted=settings.text_backend == "transformers",
        )
    if source is None or content_type is None:  # a batch always records both
        raise ConfigurationError(f"batch {batch_id} names no source or content type")
    started = time.perf_counter()
    try:
        with stop_on_sigterm():
            summary = _run_flow_with_progress(
                url,
                batch_id,
                source,
                content_type,
                limit,
                chunk_size or settings.chunk_size,
                {"temperature": temperature, "max_attempts": max_attempts},
                quiet=as_json,
                images=images,
            )
    except BaseException as exc:
        signum = signal_of(exc)
        if signum is None:
            raise
        err.print(
            f"stopped ({signal.Signals(signum).name}): batch {batch_id} keeps what it "
            f"finished; go on with: copydesk run --resume {batch_id}",
            highlight=False,
        )
        exit_now(signum)
    summary["duration_s"] = round(time.perf_counter() - started, 2)
    _print_summary(summary)
    if as_json:
        print(json.dumps(summary, default=str))


def _checked_source(text: str, settings: Settings) -> str:
    """The source as the batch records it, once it is known to hold input: a file's
    absolute path, or `store:PREFIX` with at least one input file under it."""
    from copydesk.inputs.readers import read_records
    from copydesk.inputs.sources import LocalSource, list_source, parse_source
    from copydesk.storage import create_store

    source = parse_source(text, settings)
    if isinstance(source, LocalSource):
        if not source.path.is_file():
            raise ConfigurationError(f"cannot read {text}: no such file")
        with closing(read_records(source.path)) as rows:
            next(rows, None)  # a file that cannot be read at all fails here, before a batch
        return str(source.path.resolve())
    list_source(source, create_store(settings))  # unreachable, or nothing to read: one line
    return str(source)


def _run_flow_with_progress(
    url: str,
    batch_id: int,
    source: str,
    content_type: str,
    limit: int | None,
    chunk_size: int,
    generation: dict[str, Any],
    *,
    quiet: bool,
    images: bool = False,
) -> dict[str, Any]:
    from flows.generate_batch import generate_batch

    stop = threading.Event()
    progress = Progress(
        TextColumn("batch {task.fields[batch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
    )
    task = progress.add_task("run", total=None, batch=batch_id, state="starting")
    texts = progress.add_task(
        "texts", total=None, batch=batch_id, state="texts by the model", visible=False
    )
    per_item = _texts_per_item(content_type, generation)
    start_texts, _ = METER.read()

    settings = get_settings()
    linked = settings.prefect_api_url is None  # the ephemeral API has no UI to link to

    def poll() -> None:
        nonlocal linked
        from copydesk.reports.batches import batch_flow_run, flow_run_url, status_counts

        while not stop.wait(0.5):
            try:
                counts = status_counts(url, batch_id)
                run_id = None if linked else batch_flow_run(url, batch_id)
            except SQLAlchemyError:  # a missed refresh of the bar is harmless
                continue
            if run_id is not None:
                where = flow_run_url(settings.prefect_ui_url, settings.prefect_api_url, run_id)
                progress.console.print(f"flow run: {where}", highlight=False)
                linked = True
            done = sum(n for s, n in counts.items() if s in DONE_STATUSES)
            state = format_counts(counts)
            progress.update(task, total=sum(counts.values()) or None, completed=done, state=state)
            written = METER.read()[0] - start_texts
            if written:  # the model at work inside a chunk: first attempts, then retries
                waiting = sum(n for s, n in counts.items() if s in ("ingested", "planned"))
                expected = written + per_item * waiting  # first attempts still to write
                progress.update(texts, total=expected, completed=written, visible=True)

    watcher = threading.Thread(target=poll, daemon=True)
    with progress:
        watcher.start()
        try:
            result: dict[str, Any] = generate_batch(  # type: ignore[assignment]  # Prefect returns the state's data
                source=source,
                content_type=content_type,
                limit=limit,
                chunk_size=chunk_size,
                generation=generation,
                batch_id=batch_id,
                images=images,
            )
        finally:
            stop.set()
            watcher.join()
    return result


def _texts_per_item(content_type: str, generation: dict[str, Any]) -> int:
    """The model's first-attempt texts per item: each section's candidates."""
    kind = load_content_type(content_type)
    override = generation.get("candidates")
    return sum(override or section.candidates for section in kind.sections)


def _print_summary(summary: dict[str, Any]) -> None:
    counts = format_counts(summary["counts"]) or "no items"
    settings = get_settings()
    where = (
        settings.resolved_store_path
        if settings.store == "local"
        else f"bucket {settings.s3_bucket}"
    )
    out.print(
        f"batch {summary['batch_id']} ({summary['content_type']}): {summary['total']} items: {counts}\n"
        f"model: {summary.get('model_version') or 'the base model'}\n"
        f"outputs: {summary['outputs_prefix']} in {where}\n"
        f"review: copydesk review (web app; `copydesk editors add NAME` first), "
        f"copydesk review list --batch {summary['batch_id']} --as NAME, copydesk show ITEM",
        highlight=False,
    )
    if quality := summary.get("quality"):
        from copydesk.cli.report import quality_table
        from copydesk.reports.quality import QualityReport

        out.print(quality_table(QualityReport(**quality)))


def batches() -> None:
    """List batches, newest first."""
    from copydesk.reports.batches import list_batches

    table = Table("batch", "type", "status", "items", "created", "source")
    for batch in list_batches(get_settings().resolved_database_url):
        table.add_row(
            str(batch.id),
            batch.content_type,
            batch.status,
            format_counts(batch.counts),
            batch.created_at.strftime("%Y-%m-%d %H:%M"),
            escape(batch.source),  # a file name is no markup
        )
    out.print(table)


def items(
    batch_id: Annotated[int, typer.Argument(help="Batch id (see `copydesk batches`).")],
    status: Annotated[str | None, typer.Option(help="Only items in this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
) -> None:
    """List a batch's items with their status and error."""
    from copydesk.reports.batches import list_batch_items

    table = Table("item", "row", "status", "error")
    url = get_settings().resolved_database_url
    for item in list_batch_items(url, batch_id, status, limit):
        error = escape((item.error or "")[:120])  # it quotes input values: no markup
        table.add_row(str(item.id), str(item.row_number), item.status, error)
    out.print(table)


def show(
    item_id: Annotated[int, typer.Argument(help="Item id (see `copydesk items BATCH`).")],
) -> None:
    """Show an item's final text, findings and full lineage: input → plan → generations → revision."""
    from copydesk.reports.lineage import describe_item

    out.print(
        describe_item(get_settings().resolved_database_url, item_id), highlight=False, markup=False
    )


def export(
    batch_id: Annotated[int, typer.Argument(help="Batch id.")],
    fmt: Annotated[str, typer.Option("--format", help="Only `jsonl` for now.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export a batch: one JSON line per item (item_id, row, input, status, text, findings, error, object_key)."""
    from copydesk.reports.lineage import export_rows

    if fmt != "jsonl":
        raise CopydeskError(f"unknown export format {fmt!r}; use jsonl")
    handle = output.open("w", encoding="utf-8") if output else None
    try:
        for row in export_rows(get_settings().resolved_database_url, batch_id):
            print(json.dumps(row, ensure_ascii=False, default=str), file=handle)
    finally:
        if handle:
            handle.close()
