"""`copydesk report BATCH`: a batch's quality report."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from copydesk.reports.quality import QualityReport, batch_quality, quality_lines
from copydesk.settings import get_settings

out = Console()


def quality_table(report: QualityReport) -> Table:
    table = Table(
        "figure", "final text", "first attempt", title=f"quality of batch {report.batch_id}"
    )
    for row in quality_lines(report):
        table.add_row(*row)
    return table


def report(
    batch_id: Annotated[int, typer.Argument(help="Batch id (see `copydesk batches`).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Quality of a batch's final texts, beside its first model attempts: fact error rate,
    grammar lints per 100 words, length compliance, fallbacks, flagged items, attempts."""
    quality = batch_quality(get_settings().resolved_database_url, batch_id)
    if as_json:
        print(json.dumps(quality.as_dict()))
        return
    out.print(f"{quality.items} items, {quality.sections} sections refined")
    out.print(quality_table(quality))
