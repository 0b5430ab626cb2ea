"""`facts_once`: each fact of a section stated once (the name exempt); an error on the
second mention naming both, in agreement with the slot error rate's `repeated`."""

from __future__ import annotations

import pytest

from copydesk.checks.repeated_facts import check_facts_once
from copydesk.checks.slots import slot_errors
from copydesk.content.outline import render_plan
from copydesk.content.types import load_content_type
from copydesk.inputs.readers import ValidatedRecord, validate_record

MR = (
    "name[Browns Cambridge], eatType[coffee shop], food[English], customer rating[low], "
    "area[city centre], familyFriendly[yes], near[Crowne Plaza Hotel]"
)
ONCE = (
    "Browns Cambridge is a family-friendly coffee shop serving English food in the city "
    "centre near Crowne Plaza Hotel. Browns Cambridge has a low customer rating."
)


def findings(text: str) -> list[tuple[str | None, str]]:
    kind = load_content_type("restaurant")
    result = validate_record({"mr": MR}, kind)
    assert isinstance(result, ValidatedRecord)
    section = render_plan(kind, result.record).sections[0]
    found = check_facts_once(section, text, kind, result.record)
    assert {f.field for f in found} == set(slot_errors(result.record, text, kind).repeated)
    return [(f.field, f.message) for f in found]


def test_each_fact_once_passes_and_the_name_may_come_back() -> None:
    assert findings(ONCE) == []


@pytest.mark.parametrize(
    ("added", "field", "said"),
    [
        (" It is located near the Crowne Plaza Hotel.", "near", "'Crowne Plaza Hotel'"),
        (" It is in the centre of the city.", "area", "'centre of the city'"),
        (" Kids are welcome.", "familyFriendly", "'Kids'"),
        (" The coffee shop is cosy.", "eatType", "'coffee shop'"),
    ],
)
def test_a_fact_stated_twice_is_an_error_on_the_second_mention(
    added: str, field: str, said: str
) -> None:
    text = ONCE + added
    ((found_field, message),) = findings(text)
    assert found_field == field and message.endswith(said) and "twice" in message
