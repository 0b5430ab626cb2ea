"""Evaluation: slot errors and BLEU against every reference, and first-attempt generations
with the base model or an adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.content.types import ContentType
from copydesk.tuning.base_model import BaseModelRef
from copydesk.tuning.evaluation import (
    bleu,
    eval_inputs,
    first_attempts,
    load_generator,
    score_texts,
)
from copydesk.tuning.examples import Example, examples_from_references
from copydesk.tuning.hyperparameters import TuneSettings
from copydesk.tuning.training import tune
from tests.copydesk.tuning.conftest import reference_rows, write_references


@pytest.fixture
def examples(restaurant: ContentType, tmp_path: Path) -> list[Example]:
    path = write_references(tmp_path / "refs.csv", reference_rows())
    return examples_from_references(path, restaurant).examples


def test_inputs_group_every_reference(examples: list[Example]) -> None:
    inputs = eval_inputs(examples)
    assert len(inputs) == 6
    assert inputs[0].references == ("Alimentum is a nice place.", "You will like Alimentum.")
    assert inputs[0].record["name"] == "Alimentum" and inputs[0].section == "description"
    assert len(eval_inputs(examples, limit=2)) == 2


def test_bleu_is_against_all_references_on_a_0_to_1_scale() -> None:
    references = [["The cat sat on the mat.", "A cat was on the mat."]]
    assert bleu(["A cat was on the mat."], references) == pytest.approx(1.0)
    assert 0 < bleu(["The cat was on a mat."], references) < 1
    assert bleu([], []) == 0.0


def test_bleu_with_unequal_reference_counts_pads_without_inventing_a_reference() -> None:
    hypotheses = ["Cat sat.", "A dog ran in the park."]
    first = ["The cat sat on the mat today."]
    # a duplicate reference for the second input widens the streams to two, so the first
    # input is padded; the padding must not count as a (length 0) reference for it
    single = bleu(hypotheses, [first, ["A dog ran in the park."]])
    padded = bleu(hypotheses, [first, ["A dog ran in the park."] * 2])
    assert 0 < single < 1
    assert padded == pytest.approx(single)


def test_slot_errors_are_the_e2e_ones(restaurant: ContentType, examples: list[Example]) -> None:
    inputs = eval_inputs(examples, limit=1)  # Alimentum, city centre, not family-friendly
    right = score_texts(
        restaurant, inputs, ["Alimentum is in the city centre. It is not family-friendly."]
    )
    assert right["slot_error_rate"] == 0.0 and right["texts_with_slot_errors"] == 0
    wrong = score_texts(restaurant, inputs, ["Alimentum is a pub by the river."])
    assert wrong["slot_errors"] == {"missing": 1, "added": 1, "wrong": 1, "repeated": 0}
    assert wrong["slot_error_rate"] == pytest.approx(1.0)  # 3 errors over 3 slots


def test_first_attempts_with_the_base_model_or_an_adapter(
    restaurant: ContentType, tiny_base: BaseModelRef, examples: list[Example], tmp_path: Path
) -> None:
    settings = TuneSettings(steps=1, batch_size=2, gradient_accumulation=1, min_examples=2)
    adapter = tune(tiny_base, examples[:4], tmp_path / "run", settings)
    inputs = eval_inputs(examples, limit=2)

    base = load_generator(tiny_base, dtype="float32", batch_size=2)
    tuned = load_generator(tiny_base, adapter.artifact, dtype="float32", batch_size=2)

    assert base.identity.model_id == "tiny-llama"
    assert tuned.identity.model_id == f"tiny-llama+adapter:{adapter.sha256}"
    texts = first_attempts(tuned, restaurant, inputs)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    assert first_attempts(tuned, restaurant, inputs) == texts  # greedy: the same again
    assert score_texts(restaurant, inputs, texts)["inputs"] == 2


def test_bleu_references_grouped_by_another_column(restaurant: ContentType, tmp_path: Path) -> None:
    import csv

    from copydesk.errors import ConfigurationError
    from copydesk.tuning.scorecard import load_reference

    original = "name[Aromi], eatType[coffee shop], area[riverside]"
    cleaned = "name[Aromi], eatType[coffee shop]"  # a text that left the area out
    path = tmp_path / "cleaned.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mr", "ref", "orig_mr"])
        writer.writerow([original, "Aromi is a coffee shop by the river.", original])
        writer.writerow([cleaned, "Aromi is a coffee shop.", original])
        writer.writerow(
            ["name[Zizzi], eatType[pub]", "Zizzi is a pub.", "name[Zizzi], eatType[pub]"]
        )

    plain = load_reference(path, restaurant)
    grouped = load_reference(path, restaurant, bleu_group="orig_mr")
    assert [i.references for i in plain.inputs] == [
        ("Aromi is a coffee shop by the river.",),
        ("Aromi is a coffee shop.",),
        ("Zizzi is a pub.",),
    ]
    assert all(i.bleu_references is None for i in plain.inputs)
    assert [i.bleu_references for i in grouped.inputs] == [
        ("Aromi is a coffee shop by the river.", "Aromi is a coffee shop."),
        ("Aromi is a coffee shop by the river.", "Aromi is a coffee shop."),
        ("Zizzi is a pub.",),
    ]
    texts = ["Aromi is a coffee shop by the river.", "Aromi is a coffee shop by the river.", "x"]
    by_record = score_texts(restaurant, plain.inputs, texts)
    by_group = score_texts(restaurant, grouped.inputs, texts)
    assert by_record["bleu_grouped"] is None and by_group["bleu"] == by_record["bleu"]
    assert by_group["bleu_grouped"] > by_group["bleu"]  # the 2nd text meets its group's ref
    with pytest.raises(ConfigurationError, match="no column 'group'"):
        load_reference(path, restaurant, bleu_group="group")
