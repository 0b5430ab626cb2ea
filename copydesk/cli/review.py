"""`copydesk editors …` and `copydesk review …`: the editors' desk from a terminal.

`copydesk review` alone serves the review web app. Its subcommands do what the app does,
with the same server-side role checks: each names the editor with `--as NAME` and reads
the editor's secret from COPYDESK_EDITOR_SECRET (never from the command line, where it
would end up in shell history and process lists).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from copydesk.errors import ConfigurationError, CopydeskError
from copydesk.settings import get_settings
from db.models import Role

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

editors_app = typer.Typer(help="Manage who may use the review desk.", no_args_is_help=True)
review_app = typer.Typer(
    help="The review desk: `copydesk review` serves the web app; the subcommands decide "
    "from a terminal (--as NAME, secret in COPYDESK_EDITOR_SECRET).",
    invoke_without_command=True,
)

AsEditor = Annotated[
    str,
    typer.Option("--as", help="Your editor name; the secret comes from COPYDESK_EDITOR_SECRET."),
]
Version = Annotated[
    int | None,
    typer.Option(
        "--expect-version",
        help="Refuse if the item changed since you looked (the version `review show` printed).",
    ),
]


def _url() -> str:
    """The database, at the newest schema (an empty one gets it: a first `editors add`)."""
    from db.migrate import require_head

    url = get_settings().resolved_database_url
    require_head(url, create=True)
    return url


def _signed_in(name: str) -> Any:
    from copydesk.desk.editors import authenticate

    secret = get_settings().editor_secret.get_secret_value()
    if not secret:
        raise ConfigurationError(
            "set COPYDESK_EDITOR_SECRET to your editor secret (from `copydesk editors add`)"
        )
    return authenticate(_url(), name, secret)


def _version(item_id: int, expected: int | None) -> int:
    from copydesk.desk.item_view import item_detail

    return expected if expected is not None else item_detail(_url(), item_id).version


# --- editors ---------------------------------------------------------------------------


@editors_app.command("add")
def editors_add(
    name: Annotated[str, typer.Argument(help="Sign-in name (letters, digits, . _ @ -).")],
    role: Annotated[
        Role, typer.Option(help="viewer reads; editor decides; admin too.")
    ] = Role.EDITOR,
) -> None:
    """Create an editor and print their one-time secret (only its hash is stored)."""
    from copydesk.desk.editors import add_editor

    editor, secret = add_editor(_url(), name, role)
    out.print(f"editor {editor.name} ({editor.role.value}) created; secret (shown once):")
    out.print(secret, highlight=False)


@editors_app.command("list")
def editors_list() -> None:
    """List editors, their roles and whether they may sign in."""
    from copydesk.desk.editors import list_editors

    table = Table("name", "role", "active")
    for editor, active in list_editors(_url()):
        table.add_row(editor.name, editor.role.value, "yes" if active else "no")
    out.print(table)


@editors_app.command("reset-secret")
def editors_reset(name: Annotated[str, typer.Argument(help="Editor name.")]) -> None:
    """Give an editor a new one-time secret; the old one stops working."""
    from copydesk.desk.editors import reset_secret

    out.print(reset_secret(_url(), name), highlight=False)


@editors_app.command("disable")
def editors_disable(name: Annotated[str, typer.Argument(help="Editor name.")]) -> None:
    """Stop an editor from signing in (their open sessions end at their next request)."""
    from copydesk.desk.editors import set_active

    set_active(_url(), name, False)
    out.print(f"editor {name} disabled")


@editors_app.command("enable")
def editors_enable(name: Annotated[str, typer.Argument(help="Editor name.")]) -> None:
    """Let a disabled editor sign in again."""
    from copydesk.desk.editors import set_active

    set_active(_url(), name, True)
    out.print(f"editor {name} enabled")


# --- review ----------------------------------------------------------------------------


@review_app.callback()
def review(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the review web app (http://HOST:PORT), unless a subcommand is given."""
    if ctx.invoked_subcommand is not None:
        return
    from copydesk.review.server import serve

    _url()  # a database at the newest schema, before the first page is asked for
    shown = f"[{host}]" if ":" in host else host

    def listening() -> None:
        out.print(f"review desk on http://{shown}:{port}/ (Ctrl-C stops it)", highlight=False)

    serve(host=host, port=port, on_listen=listening)


@review_app.command("list")
def review_list(
    as_editor: AsEditor,
    batch: Annotated[int | None, typer.Option(help="Only this batch.")] = None,
    content_type: Annotated[
        str | None, typer.Option("--type", help="Only this content type.")
    ] = None,
    status: Annotated[str, typer.Option(help="Item status.")] = "pending_review",
    failing: Annotated[
        bool | None,
        typer.Option("--failing/--clean", help="Only items with / without failing checks."),
    ] = None,
    sort: Annotated[str, typer.Option(help="oldest, newest or errors.")] = "oldest",
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The review queue: items waiting for a decision, filtered and paged."""
    from copydesk.desk.review_queue import QueueQuery, list_queue

    _signed_in(as_editor)
    query = QueueQuery(status, batch, content_type, failing, sort, page, per_page)  # type: ignore[arg-type]
    result = list_queue(_url(), query)
    if as_json:
        for row in result.rows:
            print(json.dumps(asdict(row), default=str))
        return
    table = Table("item", "batch", "type", "label", "errors", "round", "version")
    for row in result.rows:
        errors = f"[red]{row.check_errors}[/red]" if row.check_errors else "0"
        table.add_row(
            str(row.item_id), str(row.batch_id), row.content_type, escape(row.label), errors,
            str(row.generation_round), str(row.version),
        )  # fmt: skip
    out.print(table)
    out.print(f"page {query.page} of {result.pages} ({result.total} items)")


@review_app.command("show")
def review_show(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    as_editor: AsEditor,
    as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """An item as an editor sees it: record, current text, findings, history."""
    from copydesk.desk.item_view import item_detail

    _signed_in(as_editor)
    detail = item_detail(_url(), item_id)
    if as_json:
        print(json.dumps(asdict(detail), default=str))
        return
    out.print(
        f"item {detail.item_id} · batch {detail.batch_id} · {detail.content_type} · "
        f"{detail.status} · version {detail.version} · round {detail.generation_round} · "
        f"{detail.check_errors} failing check(s)",
        highlight=False,
    )
    for field, value in detail.record.items():
        out.print(f"  {field}: {value}", highlight=False, markup=False)
    for section in detail.sections:
        out.rule(f"{section.name}" + (f" ({section.decision})" if section.decision else ""))
        out.print(section.text, highlight=False, markup=False)
        for finding in section.findings:
            out.print(f"  [{finding.severity}] {finding.check}: {finding.message}", markup=False)
    if detail.reviews:
        out.rule("reviews")
        for review in detail.reviews:
            reason = f": {review.reason}" if review.reason else ""
            out.print(
                f"  {review.created_at:%Y-%m-%d %H:%M} {review.editor} {review.decision}{reason}",
                markup=False,
            )


@review_app.command("approve")
def review_approve(
    item_ids: Annotated[list[int], typer.Argument(help="Item id(s).")],
    as_editor: AsEditor,
    expect_version: Version = None,
) -> None:
    """Approve items whose current text passes every check (several ids: bulk approve)."""
    from copydesk.desk.decisions import bulk_approve

    editor = _signed_in(as_editor)
    if expect_version is not None and len(item_ids) > 1:
        raise CopydeskError("--expect-version applies to one item at a time")
    result = bulk_approve(_url(), editor, [(i, _version(i, expect_version)) for i in item_ids])
    for item_id in result.approved:
        out.print(f"item {item_id} approved")
    for item_id, why in result.skipped.items():
        err.print(f"item {item_id} not approved: {why}", markup=False)
    if result.skipped:
        raise typer.Exit(1)


@review_app.command("reject")
def review_reject(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    as_editor: AsEditor,
    reason: Annotated[str, typer.Option(help="Why (required; kept in the lineage).")],
    expect_version: Version = None,
) -> None:
    """Reject an item's current text, with a reason."""
    from copydesk.desk.decisions import reject

    editor = _signed_in(as_editor)
    reject(_url(), editor, item_id, _version(item_id, expect_version), reason)
    out.print(f"item {item_id} rejected")


@review_app.command("edit")
def review_edit(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    as_editor: AsEditor,
    set_text: Annotated[
        list[str] | None, typer.Option("--set", help="SECTION=TEXT (repeatable).")
    ] = None,
    set_file: Annotated[
        list[str] | None, typer.Option("--set-file", help="SECTION=PATH: the text from a file.")
    ] = None,
    expect_version: Version = None,
) -> None:
    """Replace section texts (others stay as they are); the edit is re-checked and approval
    waits until the checks pass."""
    from copydesk.desk.decisions import edit
    from copydesk.desk.item_view import item_detail
    from copydesk.storage import create_store

    editor = _signed_in(as_editor)
    detail = item_detail(_url(), item_id)
    sections = {s.name: s.text for s in detail.sections}
    changes = [_pair(p) for p in set_text or []]
    changes += [
        (name, Path(path).read_text(encoding="utf-8")) for name, path in map(_pair, set_file or [])
    ]
    if not changes:
        raise CopydeskError("nothing to change: give --set SECTION=TEXT or --set-file SECTION=PATH")
    for name, text in changes:
        if name not in sections:
            raise CopydeskError(f"unknown section {name!r}: one of {', '.join(sections)}")
        sections[name] = text
    version = expect_version if expect_version is not None else detail.version
    result = edit(_url(), editor, item_id, version, sections, create_store(get_settings()))
    for finding in result.findings:
        out.print(f"  [{finding.severity}] {finding.check}: {finding.message}", markup=False)
    state = (
        "can be approved" if not result.check_errors else f"{result.check_errors} failing check(s)"
    )
    out.print(f"item {item_id} edited (version {result.version}): {state}")


@review_app.command("regenerate")
def review_regenerate(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    as_editor: AsEditor,
    notes: Annotated[str, typer.Option(help="What to change; goes into the prompt (required).")],
    queue_only: Annotated[
        bool, typer.Option("--queue-only", help="Only record the request; a later run does it.")
    ] = False,
    expect_version: Version = None,
) -> None:
    """Send an item back to the model with your notes; by default the new round runs now
    (with the configured model) and the item returns to the queue."""
    from copydesk.desk.decisions import request_regeneration

    editor = _signed_in(as_editor)
    request_regeneration(_url(), editor, item_id, _version(item_id, expect_version), notes)
    if queue_only:
        out.print(f"item {item_id} waits for regeneration")
        return
    from copydesk.desk.item_view import item_detail
    from copydesk.pipeline.regenerate import regenerate_items
    from copydesk.storage import create_store
    from copydesk.tuning.serving import version_generator

    settings = get_settings()
    store = create_store(settings)
    with err.status(f"regenerating item {item_id}…"):
        regenerate_items(
            _url(), [item_id], lambda version: version_generator(settings, version, store), store
        )
    detail = item_detail(_url(), item_id)
    out.print(
        f"item {item_id}: round {detail.generation_round}, {detail.status}, "
        f"{detail.check_errors} failing check(s)"
    )


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise CopydeskError(f"expected SECTION=VALUE, got {text!r}")
    return name.strip(), value
