"""One item: its page, its image, and the editor's decisions on it.

Every decision form carries the item `version` the editor saw; `copydesk.desk.decisions` turns
a stale version into `ConflictError` (409 page) and a refused decision into
`DecisionError` (422 page), and checks the role again. A decision that succeeds redirects
(303) to the next item waiting in the same batch (or the queue) with a flash message; an
edit returns to the item, to show the re-run checks, and so does a regeneration: its page
asks `/items/{id}/progress` (`/static/item.js`) until the new text is back, then reloads.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from copydesk.desk.decisions import approve, edit, reject, request_regeneration
from copydesk.desk.item_view import item_detail, item_progress, latest_image
from copydesk.desk.review_queue import STATUS_WORDS, next_in_queue
from copydesk.errors import CopydeskError
from copydesk.review.auth import CheckedForm, Decider, SignedIn
from copydesk.review.web import desk_of, error_page, redirect, render
from db.models import WORK_STATUSES, ItemStatus, Role

router = APIRouter()

# Served inline; anything else is sent as a download, so a stored object can never run as
# a page of this site.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


# Waiting for a regeneration round, or inside one (the round's stages move the item through
# planned → generated → refined before it returns to pending_review).
IN_PROGRESS = frozenset({ItemStatus.REGENERATE, *WORK_STATUSES})


class FormError(CopydeskError):
    """A decision form that lacks a field the app itself puts there."""


@router.get("/items/{item_id:int}")
def item_page(request: Request, item_id: int, editor: SignedIn) -> Response:
    desk = desk_of(request)
    try:
        item = item_detail(desk.url, item_id)
    except CopydeskError:
        return error_page(request, 404, "No such item", f"There is no item {item_id}.")
    return render(
        request,
        "item.html",
        item=item,
        next_id=_next_item(request, item_id, item.batch_id),
        can_decide=editor.can(Role.EDITOR),
        in_progress=item.status in IN_PROGRESS,
    )


@router.get("/items/{item_id:int}/progress")
def item_progress_state(request: Request, item_id: int, editor: SignedIn) -> Response:
    """Whether the item is still being regenerated, for its page to poll."""
    status = item_progress(desk_of(request).url, item_id)
    if status is None:
        return JSONResponse({"error": f"no item {item_id}"}, status_code=404)
    return JSONResponse(
        {"in_progress": status in IN_PROGRESS, "status": STATUS_WORDS.get(status, "")}
    )


@router.get("/items/{item_id:int}/image")
def item_image(request: Request, item_id: int, editor: SignedIn) -> Response:
    desk = desk_of(request)
    row = latest_image(desk.url, item_id)
    if row is None:
        return error_page(request, 404, "No image", f"Item {item_id} has no image.")
    key, mime_type = row
    data = desk.store.get(key)
    if mime_type in INLINE_IMAGE_TYPES:
        return Response(data, media_type=mime_type)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="item-{item_id}-image"'},
    )


@router.post("/items/{item_id:int}/approve")
def approve_item(request: Request, item_id: int, editor: Decider, form: CheckedForm) -> Response:
    approve(desk_of(request).url, editor, item_id, _version(form))
    return _to_next(request, item_id, form, f"Item {item_id} approved.")


@router.post("/items/{item_id:int}/reject")
def reject_item(request: Request, item_id: int, editor: Decider, form: CheckedForm) -> Response:
    reason = _text(form, "reason")
    reject(desk_of(request).url, editor, item_id, _version(form), reason)
    return _to_next(request, item_id, form, f"Item {item_id} rejected.")


@router.post("/items/{item_id:int}/edit")
def edit_item(request: Request, item_id: int, editor: Decider, form: CheckedForm) -> Response:
    desk = desk_of(request)
    sections = {
        key.removeprefix("section:"): value
        for key, value in form.multi_items()
        if key.startswith("section:") and isinstance(value, str)
    }
    decided = edit(desk.url, editor, item_id, _version(form), sections, desk.store)
    if decided.check_errors:
        message = (
            f"Saved your edit of item {item_id}, but {decided.check_errors} check(s) still "
            "fail (see the findings below): approval stays blocked until they pass."
        )
        return redirect(request, f"/items/{item_id}", message, "error")
    message = f"Saved your edit of item {item_id}: every check passes, you can approve it now."
    return redirect(request, f"/items/{item_id}", message, "success")


@router.post("/items/{item_id:int}/regenerate")
def regenerate_item(request: Request, item_id: int, editor: Decider, form: CheckedForm) -> Response:
    desk = desk_of(request)
    request_regeneration(desk.url, editor, item_id, _version(form), _text(form, "notes"))
    desk.regenerator.submit(item_id)
    message = (
        f"Item {item_id} is being regenerated with your notes: this page shows the new text "
        "when it is ready."
    )
    return redirect(request, f"/items/{item_id}", message, "success")


def _version(form: FormData) -> int:
    value = form.get("version")
    if not isinstance(value, str) or not value.isdigit():
        raise FormError("the form lacks the item's version: reload the item and try again")
    return int(value)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _next_item(request: Request, item_id: int, batch_id: int | None) -> int | None:
    url = desk_of(request).url
    found = next_in_queue(url, item_id, batch_id) if batch_id is not None else None
    return found if found is not None else next_in_queue(url, item_id)


def _to_next(request: Request, item_id: int, form: FormData, message: str) -> Response:
    batch = form.get("batch")
    batch_id = int(batch) if isinstance(batch, str) and batch.isdigit() else None
    next_id = _next_item(request, item_id, batch_id)
    location = f"/items/{next_id}" if next_id is not None else "/queue"
    return redirect(request, location, message, "success")
