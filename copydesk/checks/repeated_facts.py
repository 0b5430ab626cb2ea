"""`facts_once`: a section states each fact once. "It is near Crowne Plaza Hotel … and is
located near the Crowne Plaza Hotel", or "family friendly … welcomes kids", realise one
fact twice: padding an editor strikes out, and a repeated slot in the E2E slot error
rate (`checks/slots.py`). An error, on the second mention, naming both.

Mentions are `no_invented_values`' own reading of the text (`find_mentions`), so both
checks agree on what a text says; the suite reads it once for both. The record's name is
exempt (naming the subject again is ordinary writing), and a list field repeats only
when one of its items is stated twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from copydesk.checks.consistency import _label
from copydesk.checks.findings import CheckFinding
from copydesk.checks.invented import Mention, find_mentions
from copydesk.content.outline import SectionPlan
from copydesk.content.types import ContentType

CHECK = "facts_once"
EXEMPT = {"name"}


def check_facts_once(
    section: SectionPlan,
    text: str,
    content_type: ContentType,
    record: dict[str, Any],
    mentions: Sequence[Mention] | None = None,
) -> list[CheckFinding]:
    """An error for each fact of the section the text states a second time."""
    if mentions is None:
        mentions = find_mentions(text, content_type, record)
    findings: list[CheckFinding] = []
    first: dict[tuple[str, str], Mention] = {}
    lists = {f for f, spec in content_type.fields.items() if spec.type == "list"}
    for mention in mentions:
        if not mention.fits or mention.field in EXEMPT or mention.field not in section.facts:
            continue
        key = (mention.field, mention.value if mention.field in lists else "")
        earlier = first.setdefault(key, mention)
        if earlier is mention:
            continue
        label = _label(mention.field)
        said, before = text[mention.start : mention.end], text[earlier.start : earlier.end]
        findings.append(
            CheckFinding(
                CHECK,
                "error",
                f"states the {label} twice: {before!r}, then {said!r}",
                mention.start,
                mention.end,
                f"state the {label} once",
                mention.field,
            )
        )
    return findings
