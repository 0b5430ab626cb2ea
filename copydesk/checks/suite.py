"""The checks a content type's manifest turns on, run on one section's text."""

from __future__ import annotations

from typing import Any

from copydesk.checks.claims import check_claims
from copydesk.checks.consistency import check_facts_present
from copydesk.checks.findings import CheckFinding
from copydesk.checks.grammar import check_grammar
from copydesk.checks.grounding import check_grounding
from copydesk.checks.hygiene import (
    check_forbidden,
    check_leftovers,
    check_length,
    check_repetition,
    check_unfinished,
)
from copydesk.checks.invented import check_no_invented_values, find_mentions
from copydesk.checks.repeated_facts import check_facts_once
from copydesk.checks.subject import check_subject
from copydesk.content.outline import SectionPlan
from copydesk.content.types import ContentType
from copydesk.inputs.records import record_strings


def run_section_checks(
    section: SectionPlan, text: str, content_type: ContentType, record: dict[str, Any]
) -> list[CheckFinding]:
    """Every check the content type's manifest lists, plus leftovers (always)."""
    enabled = set(content_type.checks)
    findings = check_leftovers(text, prompt=section.prompt)
    if "facts_present" in enabled:
        findings += check_facts_present(section, text, content_type)
    mentions = (  # no_invented_values' reading of the text, shared with facts_once
        find_mentions(text, content_type, record)
        if enabled & {"no_invented_values", "facts_once"}
        else []
    )
    if "no_invented_values" in enabled:
        findings += check_no_invented_values(section, text, content_type, record, mentions)
    if "facts_once" in enabled:
        findings += check_facts_once(section, text, content_type, record, mentions)
    if "grounding" in enabled:
        findings += check_grounding(text, content_type, record)
    if "subject" in enabled:
        findings += check_subject(text, content_type, record)
    if "claims" in enabled:
        findings += check_claims(text, content_type, record)
    if "length" in enabled:
        findings += check_length(section, text)
    if "repetition" in enabled:
        findings += check_repetition(text)
    if "unfinished" in enabled and section.format == "text":
        findings += check_unfinished(text)
    if "forbidden_phrases" in enabled:
        findings += check_forbidden(text, content_type.forbidden_phrases)
    if "grammar" in enabled:
        protected = record_strings(record)
        findings += check_grammar(text, language=content_type.language, protected=protected)
    return findings
