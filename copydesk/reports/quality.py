"""A batch's quality report, summed from its refine decisions (`refinements.metrics`).

Figures, final text first and the first model attempt (before refinement) beside it:
fact error rate (missing + wrong or invented values over facts the sections must carry;
for `restaurant` that is the E2E slot error rate without repeated slots), grammar lints
per 100 words, length compliance, the share of items that needed the fallback or went
to review flagged, and attempts per section.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from copydesk.errors import CopydeskError
from db.models import Batch, Item, Refinement
from db.session import session_scope

PAGE = 1000


@dataclass
class _Totals:
    facts: int = 0
    fact_errors: int = 0
    words: int = 0
    grammar_lints: int = 0

    def add(self, facts: int, figures: dict[str, Any]) -> None:
        self.facts += facts
        self.fact_errors += int(figures.get("fact_errors", 0))
        self.words += int(figures.get("words", 0))
        self.grammar_lints += int(figures.get("grammar_lints", 0))

    def rates(self) -> dict[str, float | None]:
        return {
            "fact_error_rate": _ratio(self.fact_errors, self.facts),
            "lints_per_100_words": _ratio(100 * self.grammar_lints, self.words),
        }


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class QualityReport:
    batch_id: int
    items: int = 0  # items refined
    sections: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    fact_error_rate: float | None = None
    fact_error_rate_first_attempt: float | None = None
    lints_per_100_words: float | None = None
    lints_per_100_words_first_attempt: float | None = None
    length_compliance: float | None = None
    items_needing_fallback: float | None = None  # share of items
    items_flagged: float | None = None  # share of items still with errors
    attempts_per_section: float | None = None
    fixes_applied: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def batch_quality(url: str, batch_id: int) -> QualityReport:
    """Sum the batch's refinements page by page (flat memory for big batches)."""
    final, first = _Totals(), _Totals()
    decisions: Counter[str] = Counter()
    fallback_items: set[int] = set()
    flagged_items: set[int] = set()
    items: set[int] = set()
    sections = attempts = length_ok = fixes = 0
    last_id = 0
    with session_scope(url, readonly=True) as session:
        if session.get(Batch, batch_id) is None:
            raise CopydeskError(f"no batch {batch_id}; `copydesk batches` lists them")
        while True:
            rows = session.execute(
                select(Refinement.id, Refinement.item_id, Refinement.decision)
                .add_columns(Refinement.attempts, Refinement.metrics)
                .join(Item, Item.id == Refinement.item_id)
                .where(Item.batch_id == batch_id, Refinement.id > last_id)
                .order_by(Refinement.id)
                .limit(PAGE)
            ).all()
            if not rows:
                break
            for row_id, item_id, decision, row_attempts, metrics in rows:
                last_id = row_id
                items.add(item_id)
                sections += 1
                attempts += row_attempts
                decisions[decision] += 1
                facts = int(metrics.get("facts", 0))
                final.add(facts, metrics)
                first.add(facts, metrics.get("first", {}))
                length_ok += bool(metrics.get("length_ok", True))
                fixes += int(metrics.get("fixes", 0))
                if decision == "fallback":
                    fallback_items.add(item_id)
                if decision == "flagged":
                    flagged_items.add(item_id)
    rates, first_rates = final.rates(), first.rates()
    return QualityReport(
        batch_id=batch_id,
        items=len(items),
        sections=sections,
        decisions=dict(sorted(decisions.items())),
        fact_error_rate=rates["fact_error_rate"],
        fact_error_rate_first_attempt=first_rates["fact_error_rate"],
        lints_per_100_words=rates["lints_per_100_words"],
        lints_per_100_words_first_attempt=first_rates["lints_per_100_words"],
        length_compliance=_ratio(length_ok, sections),
        items_needing_fallback=_ratio(len(fallback_items), len(items)),
        items_flagged=_ratio(len(flagged_items), len(items)),
        attempts_per_section=_ratio(attempts, sections),
        fixes_applied=fixes,
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def quality_lines(report: QualityReport) -> list[tuple[str, str, str]]:
    """(figure, final, first attempt) rows for tables: the CLI and the Prefect summary."""
    decisions = ", ".join(f"{k} {v}" for k, v in report.decisions.items()) or "none"
    return [
        (
            "fact error rate",
            _percent(report.fact_error_rate),
            _percent(report.fact_error_rate_first_attempt),
        ),
        (
            "grammar lints per 100 words",
            _number(report.lints_per_100_words),
            _number(report.lints_per_100_words_first_attempt),
        ),
        ("length within targets", _percent(report.length_compliance), ""),
        ("items needing the fallback", _percent(report.items_needing_fallback), ""),
        ("items flagged for the editor", _percent(report.items_flagged), ""),
        ("attempts per section", _number(report.attempts_per_section), "1.00"),
        ("safe fixes applied", str(report.fixes_applied), ""),
        ("section decisions", decisions, ""),
    ]
