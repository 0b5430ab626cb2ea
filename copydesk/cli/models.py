"""CLI commands for models: `models` (the configured models and the tuned versions),
`models promote` (the version a content type's next batches write with) and `models
export` (a version as a folder to ship in `models/`)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from copydesk.cli.generation import models as configured_models
from copydesk.cli.home import ready_home
from copydesk.settings import get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

models_app = typer.Typer(
    help="The configured models and the tuned model versions; `promote` one for a content type.",
    invoke_without_command=True,
)


@models_app.callback()
def models(ctx: typer.Context) -> None:
    """The configured text/image models, and the tuned versions (`models list`)."""
    if ctx.invoked_subcommand is None:
        list_models()


@models_app.command("list")
def list_models(
    content_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Only versions for this content type.")
    ] = None,
) -> None:
    """The configured text/image models and every tuned model version."""
    configured_models()
    for line in version_lines(content_type):
        out.print(line, highlight=False, markup=False)


def version_lines(content_type: str | None = None) -> list[str]:
    """One line per tuned version: name, type, method and base, data, scores, promotion."""
    from copydesk.tuning.versions import list_versions, promoted_versions

    url = ready_home()
    versions = list_versions(url, content_type)
    if not versions:
        return ["versions: none yet (`copydesk tune --type T --from-approvals` makes one)"]
    promoted: dict[int, list[str]] = {}
    for kind, version_id in promoted_versions(url).items():
        promoted.setdefault(version_id, []).append(kind)
    lines = ["versions:"]
    for v in versions:
        score = v.evaluation or {}
        scores = (
            f"slot error {score.get('slot_error_rate')}, BLEU {score.get('bleu')}, "
            f"model-written {score.get('model_written')}"
            if score
            else "not evaluated"
        )
        where = ", ".join(sorted(promoted.get(v.id, [])))
        lines.append(
            f"{v.name}  {v.content_type or '-'}  {v.method} on {v.base_model_id}  "
            f"{v.data.get('examples', '?')} examples  {scores}  "
            f"{'promoted for ' + where if where else 'not promoted'}  "
            f"{v.created_at:%Y-%m-%d %H:%M}  {v.artifact_sha256[:19]}"
        )
    return lines


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version name (or id).")],
    content_type: Annotated[str, typer.Option("--type", "-t", help="Content type.")],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if it scores worse than the current.")
    ] = False,
) -> None:
    """Make VERSION the model version the content type's next batches write with."""
    from copydesk.content.types import load_content_type
    from copydesk.tuning.promotion import promote as promote_version

    load_content_type(content_type)
    url = ready_home()
    result = promote_version(
        url,
        version,
        content_type,
        force=force,
        by=getpass.getuser(),
    )
    before = result.previous or "the base model"
    forced = " (forced)" if result.forced else ""
    out.print(
        f"{content_type} now writes with {result.version}{forced} (was {before})",
        highlight=False,
    )


@models_app.command("export")
def export(
    version: Annotated[str, typer.Argument(help="Version name (or id).")],
    to: Annotated[Path, typer.Option("--to", help="The folder to write (e.g. models/NAME).")],
) -> None:
    """Write VERSION as a shipped-version folder: its adapter and version.json (a model
    card already there is kept). Folders in the repo's models/ install on first use."""
    from copydesk.storage import create_store
    from copydesk.tuning.shipped import export_version

    ready_home()
    settings = get_settings()
    found = export_version(settings, create_store(settings), version, to)
    out.print(f"wrote {found.name} to {to}", highlight=False, markup=False)
