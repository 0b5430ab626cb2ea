"""`copydesk tune`, `models`, `models promote`, `eval` and `run --model-version` as a user
runs them (in this process, a tiny model built from a config): output and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.cli.main import main
from copydesk.settings import get_settings
from copydesk.tuning.base_model import BaseModelRef
from db import migrate
from db.models import Batch
from db.session import session_scope
from tests.copydesk.tuning.conftest import (  # noqa: F401 - fixtures
    bundled_tokenizer,
    reference_rows,
    tiny_base,
    write_references,
)
from tests.support.desk import RESTAURANTS

FAST = ["--steps", "2", "--batch-size", "2", "--accumulation", "1", "--rank", "4"]


def cli(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exit:
        return int(exit.code or 0)


@pytest.fixture
def tiny_model(tiny_base: BaseModelRef, monkeypatch: pytest.MonkeyPatch) -> BaseModelRef:  # noqa: F811
    monkeypatch.setenv("COPYDESK_TEXT_MODEL", str(tiny_base.folder))
    get_settings.cache_clear()
    return tiny_base


def test_tune_then_list_and_promote(
    tiny_model: BaseModelRef, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = write_references(tmp_path / "refs.csv", reference_rows())

    assert cli("tune", "--type", "restaurant", "--reference", str(refs), *FAST) == 0
    out, err = capsys.readouterr()
    assert "model version restaurant-v1 (lora on tiny-llama)" in out
    assert "examples: 12 from 6 inputs {'reference': 12}; trained on 10, 1 inputs held out" in out
    assert "tune" in err and "loss" in err  # the progress bar, on stderr

    assert cli("models") == 0
    listed = capsys.readouterr().out
    assert "text   tiny-llama" in listed  # the configured models, as before
    assert "restaurant-v1  restaurant  lora on tiny-llama  10 examples  not evaluated" in listed
    assert cli("models", "promote", "restaurant-v1", "--type", "restaurant") == 0
    assert (
        "restaurant now writes with restaurant-v1 (was the base model)" in capsys.readouterr().out
    )
    assert cli("models", "list") == 0
    assert "promoted for restaurant" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune", "--type", "restaurant"], "give --from-approvals or --reference FILE"),
        (["tune", "--type", "restaurant", "--from-approvals"], "nothing to train on"),
        (["models", "promote", "nope", "--type", "restaurant"], "no model version 'nope'"),
        (
            [
                "eval",
                "--type",
                "restaurant",
                "--reference",
                str(RESTAURANTS),
                "--model-version",
                "nope",
            ],
            "no model version 'nope'; the versions: none yet",
        ),
        (
            ["run", str(RESTAURANTS), "--type", "restaurant", "--model-version", "nope"],
            "no model version 'nope'",
        ),
    ],
)
def test_clear_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(*args) != 0
    assert message in capsys.readouterr().err.replace("\n", " ")
    url = get_settings().resolved_database_url
    migrate.upgrade(url)
    with session_scope(url, readonly=True) as session:
        assert session.query(Batch).count() == 0  # nothing started


def test_eval_groups_bleu_references_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import json

    original = "name[Aromi], eatType[coffee shop], area[riverside]"
    path = tmp_path / "cleaned.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mr", "ref", "orig_mr"])
        writer.writerow([original, "Aromi is a coffee shop in the riverside area.", original])
        writer.writerow(["name[Aromi], eatType[coffee shop]", "Aromi is a coffee shop.", original])
    args = ["eval", "--type", "restaurant", "--reference", str(path), "--fallback", "--json"]

    assert cli(*args, "--bleu-group", "orig_mr") == 0
    (score,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert score["reference"]["bleu_group"] == "orig_mr"
    assert score["bleu_grouped"] is not None and score["bleu_grouped"] >= score["bleu"]
    assert cli(*args) == 0
    (plain,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert plain["bleu_grouped"] is None
    assert cli(*args, "--held-out") == 1
    assert "--held-out needs a model version" in capsys.readouterr().err
