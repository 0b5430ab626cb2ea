"""The `copydesk` command line (Typer)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from copydesk import __version__
from copydesk.cli.batches import batches, export, items, show
from copydesk.cli.batches import run as run_batch
from copydesk.cli.generation import generate
from copydesk.cli.models import models_app
from copydesk.cli.publish import export_feedback, publish
from copydesk.cli.report import report
from copydesk.cli.review import editors_app, review_app
from copydesk.cli.schedules import schedules_app, serve, trigger
from copydesk.cli.tuning import evaluate, tune
from copydesk.errors import CopydeskError
from copydesk.runtime import prepare_environment
from copydesk.settings import get_settings

app = typer.Typer(
    name="copydesk",
    help="Copydesk: structured records in, reviewed copy out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the lineage database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(editors_app, name="editors")
app.add_typer(review_app, name="review")
app.add_typer(schedules_app, name="schedules")
app.add_typer(models_app, name="models")
app.command(name="run")(run_batch)
app.command()(batches)
app.command()(items)
app.command()(show)
app.command()(export)
app.command()(report)
app.command()(generate)
app.command()(tune)
app.command(name="eval")(evaluate)
app.command()(publish)
app.command(name="export-feedback")(export_feedback)
app.command()(serve)
app.command()(trigger)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.command()
def version() -> None:
    """Print Copydesk's version."""
    out.print(__version__)


@app.command()
def doctor() -> None:
    """Check the database, object store, model and Prefect API; exit 1 if any fails."""
    from copydesk.cli.doctor import run_checks

    results = run_checks(get_settings())
    width = max(len(result.part) for result in results)
    for result in results:
        mark = (
            "[red]FAIL[/red]"
            if not result.ok
            else "[yellow]warn[/yellow]"
            if result.warning
            else "[green]ok  [/green]"
        )
        out.print(f"{mark} {result.part:<{width}}  {result.detail}", highlight=False)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@app.command("config")
def show_config() -> None:
    """Print the effective settings (secrets hidden)."""
    from db.migrate import safe_url

    settings = get_settings()
    for name, value in settings.model_dump().items():
        if name == "database_url" and value:
            value = safe_url(value)  # a PostgreSQL URL may hold the password
        out.print(f"{name} = {value!s}", highlight=False, markup=False)
    out.print(f"(database) = {safe_url(settings.resolved_database_url)}", markup=False)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations (default: up to the newest)."""
    from db.migrate import current_revision, safe_url, upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    out.print(f"{safe_url(url)} is at revision {current_revision(url)}", highlight=False)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, or `base` for none.")],
) -> None:
    """Revert migrations down to REVISION."""
    from db.migrate import current_revision, downgrade, safe_url

    url = get_settings().resolved_database_url
    downgrade(url, revision)
    out.print(f"{safe_url(url)} is at revision {current_revision(url)}", highlight=False)


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the newest one."""
    from db.migrate import current_revision, head_revision, safe_url

    url = get_settings().resolved_database_url
    out.print(
        f"{safe_url(url)}: revision {current_revision(url)} (newest: {head_revision()})",
        highlight=False,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit status 1, not a traceback."""
    prepare_environment()
    try:
        app(args=argv, prog_name="copydesk")  # exits through SystemExit
    except CopydeskError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
