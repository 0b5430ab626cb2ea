"""What checks find: a `CheckFinding` about a section's text, an `AppliedFix` the refiner made,
and a text `Checked` (after its safe fixes, with its findings)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CheckFinding:
    """One problem (or note) about a section's text; spans are character offsets into it."""

    check: str
    severity: str  # "error" | "warning" | "info"
    message: str
    span_start: int | None = None
    span_end: int | None = None
    suggestion: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class AppliedFix:
    """One automatic fix; `start`/`end` index the text as it was just before the fix."""

    start: int
    end: int
    before: str
    after: str
    kind: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Checked:
    """A text after its safe fixes, with what the checks found in it."""

    text: str
    fixes: tuple[AppliedFix, ...]
    findings: tuple[CheckFinding, ...]

    @property
    def errors(self) -> list[CheckFinding]:
        return [f for f in self.findings if f.severity == "error"]
