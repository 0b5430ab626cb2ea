"""What Copydesk prints quotes input as text: rich markup in a value, a file name or an
error is shown, never interpreted (a stray `[/red]` used to crash `copydesk items`), and
the Prefect summary shows a file name as code, whatever it holds."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from copydesk.cli import app
from copydesk.reports.batches import code_span
from copydesk.settings import get_settings
from db import migrate
from db import repository as repo
from db.models import ItemStatus
from db.repository import NewItem
from db.session import session_scope

MARKUP = "[/red][bold]shouting[/bold] [link=http://evil.example]click[/link]"


@pytest.fixture
def batch_with_markup() -> int:
    url = get_settings().resolved_database_url
    migrate.upgrade(url)
    with session_scope(url) as session:
        batch = repo.create_batch(
            session=session,
            content_type="product_description",
            source=f"/in/{MARKUP}.csv",
            options={},
        )
        error = f"{MARKUP}.csv:2: price: {MARKUP!r} is not a number"
        item = NewItem(
            "s", 2, {"price": MARKUP}, "sha256:x", ItemStatus.QUARANTINED, error, "price"
        )
        repo.add_items(session=session, batch_id=batch.id, items=[item])
        return batch.id


@pytest.mark.parametrize("command", [["batches"], ["items", "BATCH"]])
def test_markup_in_sources_and_errors_is_printed_as_text(
    batch_with_markup: int, command: list[str]
) -> None:
    args = [str(batch_with_markup) if arg == "BATCH" else arg for arg in command]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "[/red][bold]shouting[/bold]" in result.output
    assert "\x1b]8;" not in result.output  # no terminal hyperlink was made


@pytest.mark.parametrize(
    ("name", "span"),
    [
        ("products.csv", "` products.csv `"),
        ("a`b.csv", "`` a`b.csv ``"),
        ("x``<img src=x onerror=alert(1)>`.csv", "``` x``<img src=x onerror=alert(1)>`.csv ```"),
        ("line\nbreak](http://evil.example)", "` line break](http://evil.example) `"),
    ],
)
def test_a_file_name_is_a_code_span_in_the_summary_artifact(name: str, span: str) -> None:
    assert code_span(name) == span
