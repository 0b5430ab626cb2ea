"""Quality figures of one refined section, stored with its decision (`refinements.metrics`)
and summed per batch by `copydesk.reports.quality`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from copydesk.checks.findings import CheckFinding
from copydesk.checks.hygiene import count_words
from copydesk.content.outline import SectionPlan

if TYPE_CHECKING:
    from copydesk.checks.findings import Checked

FACT_CHECKS = ("facts_present", "no_invented_values")


def count_facts(section: SectionPlan) -> int:
    """Facts the section must carry; each item of a list counts as one."""
    return sum(len(v) if isinstance(v, list) else 1 for v in section.facts.values())


def _figures(text: str, findings: Sequence[CheckFinding]) -> dict[str, Any]:
    fact_errors = [f for f in findings if f.check in FACT_CHECKS and f.severity == "error"]
    return {
        "words": count_words(text),
        "fact_errors": len(fact_errors),
        "error_fields": sorted({f.field for f in fact_errors if f.field}),
        "grammar_lints": sum(1 for f in findings if f.check == "grammar"),
        "length_ok": not any(f.check == "length" for f in findings),
        "errors": sum(1 for f in findings if f.severity == "error"),
    }


def section_metrics(section: SectionPlan, final: Checked, first: Checked) -> dict[str, Any]:
    """The final text's figures, and the first attempt's (before refinement) under `first`."""
    return {
        "facts": count_facts(section),
        **_figures(final.text, final.findings),
        "fixes": len(final.fixes),
        "first": _figures(first.text, first.findings),
    }
