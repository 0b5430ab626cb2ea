"""Examples from editors' approvals: `export-feedback --format sft`, with who wrote each text."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.storage import LocalStore
from copydesk.tuning.base_model import BaseModelRef
from copydesk.tuning.errors import NoTrainingDataError
from copydesk.tuning.examples import examples_from_feedback
from copydesk.tuning.training import tune
from db import migrate
from tests.copydesk.desk.test_feedback import COCUM_EDIT, GOOD_ALIMENTUM, Desk, build_desk


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Desk:
    return build_desk(database_url, LocalStore(tmp_path / "objects"))


def test_each_example_says_who_wrote_its_text(desk: Desk) -> None:
    found = examples_from_feedback(desk.url, content_type="restaurant")

    by_source = {e.source: e for e in found.examples}
    assert set(by_source) == {f"item {desk.alimentum}", f"item {desk.cocum}"}
    # Browns was approved as the refiner left it: the template fallback's text
    assert found.left_out == {"template": 1}
    cocum, alimentum = by_source[f"item {desk.cocum}"], by_source[f"item {desk.alimentum}"]
    assert (cocum.author, cocum.completion) == ("editor", COCUM_EDIT)
    assert (alimentum.author, alimentum.completion) == ("model", GOOD_ALIMENTUM)
    assert "asked for these changes" in alimentum.prompt  # the round-2 prompt, with notes
    assert cocum.input_key.startswith("sha256:") and cocum.input_key != alimentum.input_key
    assert found.counts()["by_author"] == {"editor": 1, "model": 1}


def test_template_text_only_on_request(desk: Desk) -> None:
    found = examples_from_feedback(desk.url, include_template=True)

    authors = {e.source: e.author for e in found.examples}
    assert authors[f"item {desk.browns}"] == "template"
    assert found.left_out == {}


def test_filters_by_content_type_and_batch(desk: Desk) -> None:
    assert examples_from_feedback(desk.url, content_type="article").examples == []
    assert examples_from_feedback(desk.url, batch_ids=[desk.batch_id + 1]).examples == []
    assert len(examples_from_feedback(desk.url, batch_ids=[desk.batch_id]).examples) == 2


def test_tune_with_no_approved_items_is_a_clear_error(
    database_url: str, tiny_base: BaseModelRef, tmp_path: Path
) -> None:
    migrate.upgrade(database_url)
    found = examples_from_feedback(database_url)
    assert found.examples == []
    with pytest.raises(NoTrainingDataError, match="nothing to train on"):
        tune(tiny_base, found.examples, tmp_path / "run")
    assert not (tmp_path / "run").exists()
