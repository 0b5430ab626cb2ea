"""Examples from a reference file: the pipeline's own prompts, bad rows quarantined, a
split that never lets one input straddle train and eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copydesk.content.outline import render_plan
from copydesk.content.types import ContentType
from copydesk.inputs.records import ValidatedRecord, validate_record
from copydesk.tuning.errors import TooFewExamplesError, TuningError
from copydesk.tuning.examples import (
    data_digest,
    examples_from_references,
    split_by_input,
)
from tests.copydesk.tuning.conftest import MRS, reference_rows, write_references


def test_prompts_are_the_prompts_the_pipeline_sends(
    restaurant: ContentType, tmp_path: Path
) -> None:
    found = examples_from_references(
        write_references(tmp_path / "refs.csv", reference_rows()), restaurant
    )

    assert found.counts() == {
        "examples": 12,
        "inputs": 6,
        "by_author": {"reference": 12},
        "quarantined": 0,
        "left_out": {},
    }
    first = found.examples[0]
    validated = validate_record({"mr": MRS[0]}, restaurant)
    assert isinstance(validated, ValidatedRecord)
    assert first.prompt == render_plan(restaurant, validated.record).sections[0].prompt
    assert first.record == validated.record
    assert (first.completion, first.author, first.section) == (
        "Alimentum is a nice place.",
        "reference",
        "description",
    )
    assert first.source == "refs.csv:2"  # the line of the file, as ingest numbers rows


def test_rows_that_fail_the_schema_are_quarantined_and_counted(
    restaurant: ContentType, tmp_path: Path
) -> None:
    rows = [
        *reference_rows()[:2],
        ("name[Aromi], eatType[pub], eatType[coffee shop]", "Aromi is a pub and a coffee shop."),
        ("eatType[pub], area[riverside]", "A riverside pub."),  # no name
        ("name[Cotto], colour[blue]", "Cotto is blue."),  # unknown attribute
        ("name[Cotto], area[the moon]", "Cotto is on the moon."),  # not an area
        ("name[Cotto]", "  "),  # no text
    ]
    found = examples_from_references(write_references(tmp_path / "refs.csv", rows), restaurant)

    assert len(found.examples) == 2
    assert [(q.row_number, q.reason.split(":")[0]) for q in found.quarantined] == [
        (4, "mr"),
        (5, "name"),
        (6, "mr"),
        (7, "area"),
        (8, "no text in column 'ref'"),
    ]
    assert "appears twice" in found.quarantined[0].reason
    assert found.counts()["quarantined"] == 5


def test_jsonl_records_with_their_text(restaurant: ContentType, tmp_path: Path) -> None:
    path = tmp_path / "refs.jsonl"
    lines = [json.dumps({"mr": mr, "text": f"Text {i}."}) for i, mr in enumerate(MRS[:3])]
    path.write_text("\n".join(lines), encoding="utf-8")

    found = examples_from_references(path, restaurant, text_column="text")

    assert [e.completion for e in found.examples] == ["Text 0.", "Text 1.", "Text 2."]


def test_a_content_type_with_several_sections_needs_the_section_named(
    restaurant: ContentType, tmp_path: Path
) -> None:
    path = write_references(tmp_path / "refs.csv", reference_rows())
    with pytest.raises(TuningError, match="no section 'title'"):
        examples_from_references(path, restaurant, section="title")


def test_split_keeps_every_reference_of_an_input_on_one_side(
    restaurant: ContentType, tmp_path: Path
) -> None:
    examples = examples_from_references(
        write_references(tmp_path / "refs.csv", reference_rows()), restaurant
    ).examples

    split = split_by_input(examples, eval_inputs=2, seed=7)

    train_keys = {e.input_key for e in split.train}
    eval_keys = {e.input_key for e in split.eval}
    assert len(eval_keys) == 2 and len(train_keys) == 4
    assert not train_keys & eval_keys
    assert len(split.train) + len(split.eval) == len(examples)
    # the same seed holds out the same inputs, whatever the order of the rows
    again = split_by_input(list(reversed(examples)), eval_inputs=2, seed=7)
    assert {e.input_key for e in again.eval} == eval_keys
    others = [split_by_input(examples, eval_inputs=2, seed=s) for s in range(8)]
    assert len({frozenset(e.input_key for e in o.eval) for o in others}) > 1


def test_split_by_fraction_and_its_limits(restaurant: ContentType, tmp_path: Path) -> None:
    examples = examples_from_references(
        write_references(tmp_path / "refs.csv", reference_rows()), restaurant
    ).examples
    assert len({e.input_key for e in split_by_input(examples, eval_fraction=0.5).eval}) == 3
    assert len({e.input_key for e in split_by_input(examples, eval_fraction=0.01).eval}) == 1
    with pytest.raises(TooFewExamplesError, match="6 distinct inputs"):
        split_by_input(examples, eval_inputs=6)


def test_data_digest_names_the_training_data(restaurant: ContentType, tmp_path: Path) -> None:
    examples = examples_from_references(
        write_references(tmp_path / "refs.csv", reference_rows()), restaurant
    ).examples
    assert data_digest(examples) == data_digest(list(examples))
    assert data_digest(examples).startswith("sha256:")
    assert data_digest(examples[1:]) != data_digest(examples)
    assert data_digest(list(reversed(examples))) != data_digest(examples)
