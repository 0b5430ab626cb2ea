"""What a batch produced, as plain data: for the CLI summary and Prefect's artifacts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from copydesk.errors import CopydeskError
from copydesk.reports.quality import QualityReport, batch_quality, quality_lines
from copydesk.settings import get_settings
from db.models import Asset, Batch, Finding, Generation, Item, Revision
from db.repository import count_items_by_status, list_items
from db.session import session_scope


def batch_summary(url: str, batch_id: int) -> dict[str, Any]:
    with session_scope(url, readonly=True) as session:
        batch = session.get_one(Batch, batch_id)
        counts = count_items_by_status(session=session, batch_id=batch_id)
        generations = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Generation.tokens_out), 0),
                func.coalesce(func.sum(Generation.duration_s), 0.0),
            )
            .join(Item, Item.id == Generation.item_id)
            .where(Item.batch_id == batch_id)
        ).one()
        with_errors = session.scalar(
            select(func.count(func.distinct(Finding.item_id)))
            .join(Item, Item.id == Finding.item_id)
            .where(
                Item.batch_id == batch_id,
                Finding.severity == "error",
                Finding.refinement_id.is_not(None),  # on the final text
            )
        )
        images = session.scalar(
            select(func.count())
            .select_from(Asset)
            .join(Item, Item.id == Asset.item_id)
            .where(Item.batch_id == batch_id, Asset.kind == "image")
        )
        duration = (
            (batch.finished_at - batch.started_at).total_seconds()
            if batch.finished_at and batch.started_at
            else None
        )
        return {
            "batch_id": batch.id,
            "content_type": batch.content_type,
            "source": batch.source,
            "model_version": batch.options.get("model_version"),  # None: the base model
            "status": batch.status,
            "counts": counts,
            "total": sum(counts.values()),
            "generations": generations[0],
            "tokens_out": int(generations[1]),
            "generation_seconds": round(float(generations[2]), 2),
            "items_with_error_findings": int(with_errors or 0),
            "images": int(images or 0),
            "duration_s": round(duration, 2) if duration is not None else None,
            "outputs_prefix": f"batches/{batch.id}/items/",
            "quality": batch_quality(url, batch_id).as_dict(),
        }


MOSTLY_FALLBACK = 0.5  # a batch whose sections mostly did not keep the model's text


def batch_verdict(summary: dict[str, Any]) -> tuple[str, str]:
    """The run's final state name and message, as the Prefect run list shows them: a batch
    whose sections mostly ended on the template fallback or flagged is named so, not
    plain "Completed" like a clean one."""
    decisions = summary.get("quality", {}).get("decisions", {}) or {}
    sections = sum(decisions.values())
    fallback, flagged = decisions.get("fallback", 0), decisions.get("flagged", 0)
    model = decisions.get("passed", 0) + decisions.get("fixed", 0)
    counts = summary.get("counts", {})
    message = (
        f"batch {summary.get('batch_id')}: {summary.get('total', 0)} item(s), "
        f"{counts.get('pending_review', 0)} to review, {counts.get('failed', 0)} failed, "
        f"{counts.get('quarantined', 0)} quarantined; {sections} section(s): {model} written "
        f"by the model, {fallback} on the template fallback, {flagged} flagged"
    )
    if sections and (fallback + flagged) / sections >= MOSTLY_FALLBACK:
        name = "Mostly flagged" if flagged > fallback else "Mostly fallback"
        return name, f"{message}: the model wrote little of it"
    return "Completed", message


def items_table(url: str, batch_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """One row per item (the first `limit`): status, failing checks, output key or error,
    and its page in the review app."""
    with session_scope(url, readonly=True) as session:
        items = session.scalars(
            select(Item).where(Item.batch_id == batch_id).order_by(Item.id).limit(limit)
        ).all()
        ids = [item.id for item in items]
        failing: dict[int, set[str]] = {}
        for item_id, check in session.execute(
            select(Finding.item_id, Finding.check).where(
                Finding.item_id.in_(ids),
                Finding.severity == "error",
                Finding.refinement_id.is_not(None),
            )
        ).tuples():
            failing.setdefault(item_id, set()).add(check)
        keys = {
            item_id: key
            for item_id, key in session.execute(
                select(Revision.item_id, Revision.object_key)
                .where(Revision.item_id.in_(ids), Revision.object_key.is_not(None))
                .order_by(Revision.id)
            ).tuples()
        }
        return [
            {
                "item": item.id,
                "row": item.row_number,
                "status": item.status,
                "failing_checks": ", ".join(sorted(failing.get(item.id, ()))),
                "output": keys.get(item.id) or "",
                "error": (item.error or "")[:200],
                "review": review_item_url(item.id),
            }
            for item in items
        ]


def review_item_url(item_id: int) -> str:
    """An item's page in the review app."""
    return f"{get_settings().review_url.rstrip('/')}/items/{item_id}"


def review_queue_url(batch_id: int) -> str:
    """The review app's queue, filtered on one batch."""
    base = get_settings().review_url.rstrip("/")
    return f"{base}/queue?{urlencode({'batch': batch_id})}"


def code_span(text: str) -> str:
    """`text` as a Markdown code span, whatever backticks, markup or newlines it holds
    (a file name is shown, never rendered)."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    return f"{fence} {' '.join(text.splitlines())} {fence}"


def summary_markdown(summary: dict[str, Any]) -> str:
    """The Prefect UI's summary artifact: counts, quality, timings, where the outputs are."""
    batch_id = summary["batch_id"]
    counts = "\n".join(f"| {status} | {n} |" for status, n in sorted(summary["counts"].items()))
    text = (
        f"# Batch {batch_id}: {summary['content_type']}\n\n"
        f"Source: {code_span(summary['source'])}\n\n"
        f"Model version: {summary.get('model_version') or 'base model'}\n\n"
        f"| status | items |\n|---|---|\n{counts}\n\n"
        f"- generations: {summary['generations']} ({summary['tokens_out']} tokens, "
        f"{summary['generation_seconds']} s of model time)\n"
        f"- items whose final text still fails a check: {summary['items_with_error_findings']}\n"
        f"- outputs: `{summary['outputs_prefix']}` in the object store\n"
        f"- review: [the review queue for this batch]({review_queue_url(batch_id)}) "
        f"(or `copydesk review list --batch {batch_id} --as NAME`)\n"
    )
    if quality := summary.get("quality"):
        rows = quality_lines(QualityReport(**quality))
        table = "\n".join(f"| {name} | {final} | {first} |" for name, final, first in rows)
        text += (
            "\n## Quality\n\n| figure | final text | first attempt |\n|---|---|---|\n"
            f"{table}\n\n`copydesk report {batch_id}` prints this again.\n"
        )
    return text


@dataclass(frozen=True)
class BatchLine:
    """A batch as `copydesk batches` lists it."""

    id: int
    content_type: str
    status: str
    counts: dict[str, int]
    created_at: datetime
    source: str


def list_batches(url: str, limit: int = 100) -> list[BatchLine]:
    """The newest batches first, each with its items' counts by status."""
    with session_scope(url, readonly=True) as session:
        return [
            BatchLine(
                batch.id,
                batch.content_type,
                batch.status,
                count_items_by_status(session=session, batch_id=batch.id),
                batch.created_at,
                batch.source,
            )
            for batch in session.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit))
        ]


@dataclass(frozen=True)
class ItemLine:
    """An item as `copydesk items` lists it."""

    id: int
    row_number: int
    status: str
    error: str | None


def list_batch_items(url: str, batch_id: int, status: str | None, limit: int) -> list[ItemLine]:
    """A batch's items in input order (only those in `status`, when given)."""
    with session_scope(url, readonly=True) as session:
        items = list_items(session=session, batch_id=batch_id, status=status, limit=limit)
        return [ItemLine(item.id, item.row_number, item.status, item.error) for item in items]


def status_counts(url: str, batch_id: int) -> dict[str, int]:
    """How many of the batch's items are in each status."""
    with session_scope(url, readonly=True) as session:
        return count_items_by_status(session=session, batch_id=batch_id)


def flow_run_url(settings_ui_url: str | None, api_url: str | None, flow_run_id: str) -> str:
    """The Prefect UI page of a flow run: the configured UI URL, else the API's server."""
    base = (settings_ui_url or (api_url or "").removesuffix("/").removesuffix("/api")).rstrip("/")
    return f"{base}/runs/flow-run/{flow_run_id}"


def batch_flow_run(url: str, batch_id: int) -> str | None:
    """The id of the flow run working on the batch (None before one attached)."""
    with session_scope(url, readonly=True) as session:
        return session.get_one(Batch, batch_id).prefect_flow_run_id


def require_batch(url: str, batch_id: int) -> None:
    """A CopydeskError naming the batch when there is none with that id."""
    with session_scope(url, readonly=True) as session:
        if session.get(Batch, batch_id) is None:
            raise CopydeskError(f"no batch {batch_id}; `copydesk batches` lists them")
