"""CLI commands for what the editors' desk produces: `publish`, `export-feedback`."""

from __future__ import annotations

import enum
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from copydesk.errors import CopydeskError
from copydesk.settings import get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class FeedbackFormat(enum.StrEnum):
    SFT = "sft"
    PREFERENCE = "preference"
    JSONL = "jsonl"


def publish(
    batch_id: Annotated[
        int | None,
        typer.Argument(help="Batch whose approved items to publish (see `copydesk batches`)."),
    ] = None,
    all_batches: Annotated[
        bool, typer.Option("--all", help="Publish the approved items of every batch.")
    ] = False,
) -> None:
    """Publish approved items (the publish-approved flow).

    Copies each approved item's documents (Markdown, HTML, JSON) to published/{content_type}/{slug}.{ext} in the object store, marks the item published and writes a manifest of what was published, with its lineage, under published/{content_type}/manifests/. Running it again publishes nothing new.
    """
    if (batch_id is None) == (not all_batches):
        raise CopydeskError("give a batch id, or --all for every batch (not both)")
    url = get_settings().resolved_database_url
    _require_schema(url)
    if batch_id is not None:
        _require_batch(url, batch_id)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the summary says enough
    from flows.publish import publish_approved

    result: dict[str, Any] = publish_approved(batch_id=batch_id)
    scope = f"batch {batch_id}" if batch_id is not None else "all batches"
    out.print(
        f"published {result['items']} item(s) of {scope} ({result['documents']} documents)",
        highlight=False,
    )
    for content_type, key in sorted(result["manifests"].items()):
        out.print(f"manifest ({content_type}): {key}", highlight=False)
    for item_id, why in sorted(result["skipped"].items(), key=lambda pair: int(pair[0])):
        err.print(f"skipped item {item_id} (still approved): {why}", highlight=False, markup=False)


def export_feedback(
    fmt: Annotated[
        FeedbackFormat,
        typer.Option(
            "--format",
            "-f",
            help="sft: prompt/completion (and chat messages) per approved section; "
            "preference: prompt/chosen/rejected pairs from edits, regenerations and "
            "rejections; jsonl: every review with its revision's text.",
            case_sensitive=False,
        ),
    ],
    batch_id: Annotated[
        int | None, typer.Option("--batch", help="Only this batch (default: every batch).")
    ] = None,
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="JSON Lines file to write; '-' (default) = stdout."),
    ] = "-",
) -> None:
    """Export the editors' feedback as a dataset: JSON Lines, one record per line (UTF-8).

    Every record names its item, batch, revision, review, generation and model. Load it with datasets.load_dataset("json", data_files=PATH).
    """
    from copydesk.desk.feedback import write_feedback

    url = get_settings().resolved_database_url
    _require_schema(url)
    if batch_id is not None:
        _require_batch(url, batch_id)
    if output == "-":
        count = write_feedback(url, fmt.value, sys.stdout, batch_id=batch_id)
        where = "stdout"
    else:
        count = write_feedback(url, fmt.value, output, batch_id=batch_id)
        where = output
    err.print(f"wrote {count} {fmt.value} record(s) to {where}", highlight=False)


def _require_schema(url: str) -> None:
    from db.migrate import require_head

    require_head(url)


def _require_batch(url: str, batch_id: int) -> None:
    from copydesk.reports.batches import require_batch

    require_batch(url, batch_id)
