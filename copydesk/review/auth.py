"""Signing in and out, and the checks every other route depends on.

- `signed_in`: a valid session cookie of an editor who is still active (looked up on
  every request, so deactivating an editor takes effect at once); else `NotSignedIn`
  (HTML requests are redirected to the sign-in page, others get 401).
- `checked_form`: the POSTed form, after its CSRF token matched the session's.
- `deciding_editor`: a signed-in editor whose role may decide (viewers get 403).
"""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from copydesk.desk.editors import (
    AuthenticationError,
    EditorInfo,
    authenticate,
    get_editor,
    require,
)
from copydesk.review.sessions import Session
from copydesk.review.web import desk_of, redirect, render, safe_path
from db.models import Role

log = logging.getLogger("copydesk.review")
router = APIRouter()

MAX_FORM_FIELDS = 1000


class NotSignedIn(Exception):
    """The request has no session of an active editor."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


def signed_in(request: Request) -> EditorInfo:
    desk = desk_of(request)
    session = desk.cookies.read_session(request)
    if session is None or session.editor_id is None:
        raise NotSignedIn
    editor = get_editor(desk.url, session.editor_id, session.stamp)
    if editor is None:  # deactivated, deleted or given a new secret since signing in
        raise NotSignedIn
    request.state.editor, request.state.csrf = editor, session.csrf
    return editor


SignedIn = Annotated[EditorInfo, Depends(signed_in)]


async def checked_form(request: Request, editor: SignedIn) -> FormData:
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    if not _token_ok(request.state.csrf, form.get("csrf_token")):
        log.warning("CSRF token missing or wrong on %s by %s", request.url.path, editor.name)
        raise CsrfError
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def deciding_editor(editor: SignedIn, form: CheckedForm) -> EditorInfo:
    """A signed-in editor allowed to decide, on a POST whose CSRF token matched."""
    require(editor, Role.EDITOR, "decide on items")
    return editor


Decider = Annotated[EditorInfo, Depends(deciding_editor)]


def _token_ok(expected: str, token: object) -> bool:
    return Session(None, expected, 0.0).token_matches(token)


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "/queue") -> Response:
    desk = desk_of(request)
    session = desk.cookies.read_session(request)
    if (
        session is not None
        and session.editor_id is not None
        and get_editor(desk.url, session.editor_id, session.stamp) is not None
    ):
        return redirect(request, safe_path(next))
    return _sign_in_page(request, next=safe_path(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    desk = desk_of(request)
    form = await request.form(max_files=0, max_fields=10)
    name, secret = str(form.get("name", "")).strip(), str(form.get("secret", ""))
    next_path = safe_path(form.get("next"))
    session = desk.cookies.read_session(request)
    if session is None or not session.token_matches(form.get("csrf_token")):
        return _sign_in_page(request, 403, next_path, "The sign-in form expired: please try again.")
    client = request.client.host if request.client else "unknown"
    key = (name.casefold(), client)
    wait = desk.limiter.retry_after(key)
    if wait is not None:
        log.warning("sign-in refused for %r from %s: too many failures", name, client)
        minutes = math.ceil(wait / 60)
        response = _sign_in_page(
            request,
            429,
            next_path,
            f"Too many failed sign-ins for {name or 'this name'}: wait {minutes} minute(s) "
            "and try again, or ask an admin to reset your secret.",
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    try:  # argon2 and the database block: off the event loop
        editor = await run_in_threadpool(authenticate, desk.url, name, secret)
    except AuthenticationError:
        desk.limiter.failed(key)
        log.info("failed sign-in for %r from %s", name, client)
        return _sign_in_page(request, 401, next_path, "Unknown editor or wrong secret.")
    desk.limiter.succeeded(key)
    log.info("%s signed in from %s", editor.name, client)
    response = redirect(request, next_path)
    fresh = desk.cookies.new_session(editor.id, editor.stamp)  # a fresh CSRF token
    desk.cookies.write_session(response, fresh)
    return response


@router.post("/sign-out")
def sign_out(request: Request, editor: SignedIn, form: CheckedForm) -> Response:
    response = redirect(request, "/sign-in", "You are signed out.")
    desk_of(request).cookies.clear_session(response)
    log.info("%s signed out", editor.name)
    return response


def _sign_in_page(
    request: Request, status_code: int = 200, next: str = "/queue", error: str | None = None
) -> Response:
    """The sign-in form, with a fresh pre-sign-in session carrying its CSRF token."""
    desk = desk_of(request)
    session = desk.cookies.new_session(None)
    response = render(
        request,
        "sign_in.html",
        status_code,
        form_csrf=session.csrf,
        next=next,
        error=error,
    )
    desk.cookies.write_session(response, session)
    return response
