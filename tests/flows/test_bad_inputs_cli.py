"""The corpus cases marked `cli: true` through `copydesk run` end to end (fake generator).

Each: the exit status the table gives; for a file that cannot be read, one `error:` line
and no batch; otherwise every row accounted for (quarantined ones with their reason),
and values with formulas, markup, template syntax, emoji or right-to-left text carried
through prompts, stored documents and `copydesk export` as written (HTML escaped).
Then store prefixes: a bad file among good ones, and prefixes that try to leave the
layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from copydesk.cli.main import main
from copydesk.settings import get_settings
from copydesk.storage import create_store
from db.models import Batch, Generation, Item, ItemStatus, Revision
from db.session import session_scope
from tests.copydesk.inputs.test_bad_inputs import CASES, CORPUS, case_id
from tests.support.fake_generator import FakeGenerator

CLI_CASES = [case for case in CASES if case.get("cli")]


def copydesk(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (so the fake generator answers): status, stdout, stderr."""
    capsys.readouterr()
    try:
        status = main(list(args))
    except SystemExit as exc:  # a command that ran to its end
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _batches(url: str) -> int:
    with session_scope(url, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Batch)) or 0)


def _documents(url: str, item_id: int) -> dict[str, str]:
    store = create_store(get_settings())
    with session_scope(url, readonly=True) as session:
        revision = session.scalars(
            select(Revision).where(Revision.item_id == item_id).order_by(Revision.id.desc())
        ).first()
        assert revision is not None
        outputs = dict(revision.outputs)
    return {fmt: store.get(output["key"]).decode() for fmt, output in outputs.items()}


def _check_values_carried(url: str, batch_id: int, case: dict[str, Any], out: str) -> None:
    """Each `values` field reaches the prompt, the three documents and the export as
    written; the HTML document has it escaped, never as markup."""
    exported = {row["row"]: row for row in map(json.loads, out.strip().splitlines())}
    with session_scope(url, readonly=True) as session:
        items = {
            item.row_number: item.id
            for item in session.scalars(select(Item).where(Item.batch_id == batch_id))
        }
        prompts = {
            item_id: "\n".join(session.scalars(select(Generation.prompt).where(Generation.item_id == item_id)))
            for item_id in items.values()
        }  # fmt: skip
    for number, values in case["values"].items():
        documents = _documents(url, items[number])
        record = json.loads(documents["json"])["record"]
        for name, value in values.items():
            assert value in prompts[items[number]], (number, name)
            assert record[name] == value
            assert exported[number]["input"][name] == value
            if name == "name":  # the product's title: in every document
                assert value in documents["markdown"]
                assert str(escape(value)) in documents["html"]  # as Jinja escapes it
        assert "<script" not in documents["html"] and "<img" not in documents["html"]
        assert "49 Lamp" not in documents["markdown"]  # {{ 7*7 }} never evaluated


@pytest.mark.parametrize("case", CLI_CASES, ids=case_id)
def test_copydesk_run_on_a_bad_file(
    case: dict[str, Any],
    database: str,
    fake: FakeGenerator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")  # `run` sets it; restore it after
    path = CORPUS / case["file"]
    status, out, err = copydesk(capsys, "run", str(path), "--type", case["type"], "--json")

    assert status == case["exit"], err
    assert "Traceback" not in err
    if case["exit"] == 1:
        message = case.get("raises") or case["rows"][0][3]
        assert err.strip().splitlines()[-1] == f"error: {path}: {message}"
        assert _batches(database) == 0  # refused before a batch was made
        return
    summary = json.loads(out.strip().splitlines()[-1])
    quarantined = sum(1 for row in case["rows"] if row[1] == "quarantined")
    expected = {"pending_review": len(case["rows"]) - quarantined, "quarantined": quarantined}
    assert summary["counts"] == {status: n for status, n in expected.items() if n}
    batch_id = summary["batch_id"]
    assert f"batch {batch_id} ({case['type']}):" in out  # the summary on stdout,
    assert f"batch {batch_id} ({case['type']}):" not in err  # progress alone on stderr
    with session_scope(database, readonly=True) as session:
        bad = session.scalars(
            select(Item).where(Item.status == ItemStatus.QUARANTINED).order_by(Item.row_number)
        ).all()
        reasons = [(i.row_number, i.error_field, i.error) for i in bad]
    assert reasons == [
        (number, field, f"{path.name}:{number}: {message}")
        for number, state, *rest in case["rows"]
        if state == "quarantined"
        for field, message in [rest]
    ]
    status, listing, err = copydesk(capsys, "items", str(batch_id), "--status", "quarantined")
    assert status == 0 and "Traceback" not in err  # rich markup in errors is printed as text
    if any("[/red]" in (error or "") for _, _, error in reasons):
        assert "[/red]" in listing
    if case.get("values"):
        status, exported, _ = copydesk(capsys, "export", str(batch_id))
        assert status == 0
        _check_values_carried(database, batch_id, case, exported)


def test_a_bad_file_under_a_store_prefix_is_one_item_and_the_others_go_on(
    database: str,
    fake: FakeGenerator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
    store = create_store(get_settings())
    for name in ("csv_wrong_types.csv", "csv_utf16le_bom.csv", "jsonl_empty.jsonl"):
        store.put(f"inbox/mixed/{name}", (CORPUS / name).read_bytes(), "text/plain")

    status, out, err = copydesk(
        capsys, "run", "store:inbox/mixed/", "--type", "product_description", "--json"
    )

    assert status == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["counts"] == {"pending_review": 2, "quarantined": 7}
    with session_scope(database, readonly=True) as session:
        files = session.scalars(select(Item).where(Item.row_number == 0)).all()
        errors = sorted(item.error or "" for item in files)
    assert errors == [
        "store:inbox/mixed/csv_utf16le_bom.csv: the file is UTF-16 LE (it starts with that "
        "byte order mark), not UTF-8; save it as UTF-8",
        "store:inbox/mixed/jsonl_empty.jsonl: the file is empty; there is nothing to ingest",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["store:../etc/"],
        ["store:inbox/../../etc/passwd"],
        ["store:/etc/passwd"],
        ["store:inbox/%2e%2e/%2e%2e/etc/"],
        ["store:inbox\\..\\..\\etc\\"],
        ["store:inbox/./x.csv"],
        ["store:inbox//x.csv"],
        ["store:inbox/x\x00.csv"],
    ],
    ids=["dotdot", "inner-dotdot", "absolute", "url-encoded", "backslashes", "dot", "empty", "nul"],
)
def test_store_prefixes_that_leave_the_layout_are_refused(
    args: list[str], database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = copydesk(capsys, "run", *args, "--type", "product_description")
    assert status == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "invalid object key" in last
    assert "Traceback" not in err and _batches(database) == 0


@pytest.mark.parametrize(
    "name", ["../templates/product_description", "/etc", "..", "product_description/../article"]
)
def test_content_type_names_that_leave_the_templates_are_refused(
    name: str, database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "p.csv"
    source.write_text("name,price\nDesk Lamp,45\n", encoding="utf-8")
    status, _, err = copydesk(capsys, "run", str(source), "--type", name)
    assert status == 1
    assert err.strip().splitlines()[-1].startswith(f"error: unknown content type {name!r}")
    assert _batches(database) == 0
