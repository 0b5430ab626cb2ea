"""The review queue: filters, sort and paging (all in SQL through `list_queue`), and bulk
approval of the selected items.

Query parameters (also what the Prefect artifact links to, `/queue?batch=ID`): `batch`,
`content_type`, `status` (default `pending_review`; `any` or empty for every status),
`failing` (`yes` / `no` / `any`), `sort` (`oldest` / `newest` / `errors`), `page`, `per_page`.

Statuses are shown in editors' words (`STATUS_WORDS`), never as their stored values. The
ticking of items and the bulk bar appear only on the list of items waiting for review;
`/static/queue.js` asks for confirmation (with the count) before a bulk approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from copydesk.desk.decisions import bulk_approve
from copydesk.desk.review_queue import (
    SORTS,
    STATUS_WORDS,
    QueueQuery,
    content_types_in_use,
    list_queue,
)
from copydesk.errors import CopydeskError
from copydesk.review.auth import CheckedForm, Decider, SignedIn
from copydesk.review.web import desk_of, error_page, redirect, render, safe_path
from db.models import ItemStatus, Role

router = APIRouter()

FAILING = {"yes": True, "no": False, "any": None, "": None}
ANY_STATUS = "any"
# The status choices of the filter form: (value, what the editor reads).
STATUS_CHOICES = ((ANY_STATUS, "any status"), *STATUS_WORDS.items())
PER_PAGE_CHOICES = (20, 50, 100, 200)
MAX_LISTED = 10  # item ids named in a bulk summary before "and N more"


@dataclass(frozen=True)
class Filters:
    """The queue's query parameters as the editor typed them (to refill the form)."""

    batch: str = ""
    content_type: str = ""
    status: str = ItemStatus.PENDING_REVIEW.value
    failing: str = "any"
    sort: str = "oldest"
    per_page: str = "50"

    def query(self, page: int) -> QueueQuery:
        batch = self.batch.strip()
        if batch and not batch.isdigit():
            raise CopydeskError(f"batch must be a batch id (a number), not {batch!r}")
        if self.failing not in FAILING:
            raise CopydeskError("failing must be yes, no or any")
        if not self.per_page.isdigit():
            raise CopydeskError("per_page must be a number")
        return QueueQuery(
            status=None if self.status == ANY_STATUS else self.status,
            batch_id=int(batch) if batch else None,
            content_type=self.content_type or None,
            failing=FAILING[self.failing],
            sort=self.sort,  # type: ignore[arg-type]  # QueueQuery refuses unknown sorts
            page=page,
            per_page=int(self.per_page),
        )

    def link(self, page: int) -> str:
        params = {
            "batch": self.batch,
            "content_type": self.content_type,
            "status": self.status,
            "failing": self.failing,
            "sort": self.sort,
            "per_page": self.per_page,
        }
        kept = {k: v for k, v in params.items() if v and v != getattr(Filters, k)}
        return "/queue?" + urlencode({**kept, "page": page})


@router.get("/")
@router.get("/queue")
def queue_page(
    request: Request,
    editor: SignedIn,
    batch: str = "",
    content_type: str = "",
    status: str = ItemStatus.PENDING_REVIEW.value,
    failing: str = "any",
    sort: str = "oldest",
    page: str = "1",
    per_page: str = "50",
) -> Response:
    desk = desk_of(request)
    status = status.strip() or ANY_STATUS
    filters = Filters(batch, content_type, status, failing or "any", sort, per_page)
    try:
        if not page.isdigit():
            raise CopydeskError("page must be a number")
        result = list_queue(desk.url, filters.query(int(page)))
    except CopydeskError as exc:
        return error_page(request, 400, "Cannot show that queue", str(exc))
    return render(
        request,
        "queue.html",
        page=result,
        filters=filters,
        prev_link=filters.link(result.query.page - 1) if result.query.page > 1 else None,
        next_link=filters.link(result.query.page + 1) if result.has_next else None,
        here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        statuses=STATUS_CHOICES,
        status_words=STATUS_WORDS,
        content_types=content_types_in_use(desk.url),
        sorts=SORTS,
        per_page_choices=PER_PAGE_CHOICES,
        # ticking and bulk approval only on the list of items waiting for review
        can_approve=editor.can(Role.EDITOR) and result.query.status == ItemStatus.PENDING_REVIEW,
    )


@router.post("/queue/approve")
def approve_selected(request: Request, editor: Decider, form: CheckedForm) -> Response:
    """Approve the ticked items at the versions the editor saw; say what was skipped."""
    back = safe_path(form.get("return_to"))
    pairs: list[tuple[int, int]] = []
    for raw in form.getlist("item_id"):
        version = form.get(f"version_{raw}")
        if not isinstance(raw, str) or not raw.isdigit():
            continue
        if not isinstance(version, str) or not version.isdigit():
            return error_page(request, 400, "Bulk approval refused", f"no version for item {raw}")
        pairs.append((int(raw), int(version)))
    if not pairs:
        return redirect(request, back, "Select the items to approve first.", "error")
    result = bulk_approve(desk_of(request).url, editor, pairs)
    kind = "error" if result.skipped else "success"
    return redirect(request, back, bulk_summary(result.approved, result.skipped), kind)


def bulk_summary(approved: list[int], skipped: dict[int, str]) -> str:
    parts = [f"Approved {len(approved)} item(s){_ids(approved)}."]
    if skipped:
        reasons = [f"{item_id}: {why}" for item_id, why in list(skipped.items())[:MAX_LISTED]]
        more = f" … and {len(skipped) - MAX_LISTED} more" if len(skipped) > MAX_LISTED else ""
        parts.append(f"Skipped {len(skipped)}: " + "; ".join(reasons) + more + ".")
    return " ".join(parts)


def _ids(ids: list[int]) -> str:
    if not ids:
        return ""
    shown = ", ".join(str(i) for i in ids[:MAX_LISTED])
    return f" ({shown}{' …' if len(ids) > MAX_LISTED else ''})"
