"""Checks on a generated section's text; each check returns a list of `Finding`s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copydesk.content_types import ContentType
    from copydesk.planning import SectionPlan


@dataclass(frozen=True)
class Finding:
    """One problem (or note) about a section's text; spans are character offsets into it."""

    check: str
    severity: str  # "error" | "warning" | "info"
    message: str
    span_start: int | None = None
    span_end: int | None = None
    suggestion: str | None = None
    field: str | None = None


def run_section_checks(section: SectionPlan, text: str, content_type: ContentType) -> list[Finding]:
    """Facts present, length targets, and leftovers of the chat template or the prompt."""
    # Imported here: the check modules import `Finding` from this package.
    from copydesk.checks.consistency import check_facts_present
    from copydesk.checks.hygiene import check_leftovers, check_length

    return [
        *check_facts_present(section, text, content_type),
        *check_length(section, text),
        *check_leftovers(text, prompt=section.prompt),
    ]
