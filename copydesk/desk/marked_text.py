"""A text with the checks' findings at their spans: the findings as plain data and the
text cut into plain and marked segments."""

from __future__ import annotations

from dataclasses import dataclass

from db.models import Finding


@dataclass(frozen=True)
class FindingView:
    section: str | None
    check: str
    severity: str
    message: str
    suggestion: str | None
    span_start: int | None
    span_end: int | None


@dataclass(frozen=True)
class Segment:
    """A piece of a section's text; `finding` indexes the section's findings when marked."""

    text: str
    finding: int | None = None


def highlight(text: str, findings: list[FindingView]) -> list[Segment]:
    """Split `text` into plain and marked segments at the findings' spans (overlaps: the
    earlier finding keeps the overlap; spans outside the text are ignored)."""
    spans = sorted(
        (f.span_start, f.span_end, index)
        for index, f in enumerate(findings)
        if f.span_start is not None
        and f.span_end is not None
        and 0 <= f.span_start < f.span_end <= len(text)
    )
    segments, cursor = [], 0
    for start, end, index in spans:
        if end <= cursor:
            continue
        start = max(start, cursor)
        if start > cursor:
            segments.append(Segment(text[cursor:start]))
        segments.append(Segment(text[start:end], index))
        cursor = end
    if cursor < len(text):
        segments.append(Segment(text[cursor:]))
    return segments


def finding_view(f: Finding, section: str | None = None) -> FindingView:
    return FindingView(
        section or f.section,
        f.check,
        f.severity,
        f.message,
        f.suggestion,
        f.span_start,
        f.span_end,
    )
