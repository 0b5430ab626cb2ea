"""Promoting a model version: the version a content type's next batches write with.

`promote` refuses a version whose stored evaluation is worse than the current one's on
the same reference file (fewer items model-written, more slot errors, or lower BLEU,
beyond a small tolerance), or that cannot be compared (no evaluation, or one on another
file), unless forced; a forced promotion is recorded as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copydesk.errors import CopydeskError
from copydesk.tuning.versions import VersionInfo
from db import model_versions as versions_repo
from db.session import session_scope

# metric -> (higher is better, tolerance)
MEASURES = {"model_written": (True, 0.01), "slot_error_rate": (False, 0.005), "bleu": (True, 0.01)}


class PromotionRefused(CopydeskError):
    """The version scores worse than the current one (or cannot be compared)."""


@dataclass(frozen=True)
class PromotionResult:
    content_type: str
    version: str
    previous: str | None
    forced: bool


def worse_measures(candidate: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The measures on which `candidate` is worse than `current`, beyond the tolerance."""
    worse = []
    for name, (higher_better, tolerance) in MEASURES.items():
        mine, theirs = candidate.get(name), current.get(name)
        if mine is None or theirs is None:
            continue
        gap = (theirs - mine) if higher_better else (mine - theirs)
        if gap > tolerance:
            worse.append(f"{name} {mine} vs {theirs}")
    return worse


def comparison_problem(candidate: VersionInfo, current: VersionInfo) -> str | None:
    """Why `candidate` may not replace `current` (None: it may)."""
    mine, theirs = candidate.evaluation, current.evaluation
    if theirs is None:
        return None
    if mine is None:
        return (
            f"{candidate.name} has no evaluation and {current.name} has one: "
            f"`copydesk eval --model-version {candidate.name} --store` it first"
        )
    mine_ref, their_ref = mine.get("reference", {}), theirs.get("reference", {})
    if (mine_ref.get("sha256"), mine_ref.get("bleu_group")) != (
        their_ref.get("sha256"),
        their_ref.get("bleu_group"),
    ):
        return (
            f"{candidate.name} and {current.name} were evaluated on different reference "
            "files (or BLEU groupings): evaluate both the same way (`copydesk eval ... --store`)"
        )
    worse = worse_measures(mine, theirs)
    if worse:
        return f"{candidate.name} scores worse than {current.name}: {'; '.join(worse)}"
    return None


def promote(
    url: str, name: str, content_type: str, *, force: bool = False, by: str | None = None
) -> PromotionResult:
    """Make version `name` the one `content_type` writes with."""
    with session_scope(url) as session:
        row = versions_repo.find_model_version(session=session, name=name)
        candidate = VersionInfo.of(row)
        if candidate.content_type not in (None, content_type):
            raise PromotionRefused(
                f"{candidate.name} was tuned for {candidate.content_type!r}, not {content_type!r}"
            )
        promotion = versions_repo.current_promotion(session=session, content_type=content_type)
        current = VersionInfo.of(promotion.model_version) if promotion is not None else None
        problem = None
        if current is not None and current.id != candidate.id:
            problem = comparison_problem(candidate, current)
        if problem is not None and not force:
            raise PromotionRefused(f"{problem} (--force promotes it anyway)")
        versions_repo.add_promotion(
            session=session,
            content_type=content_type,
            model_version_id=candidate.id,
            promoted_by=by,
            forced=force and problem is not None,
        )
    return PromotionResult(
        content_type, candidate.name, current.name if current else None, problem is not None
    )
