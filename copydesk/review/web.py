"""What every route of the review app shares: the `Desk` (database URL, store, settings,
templates, cookies, regeneration worker), page rendering, redirects and security headers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copydesk.desk.authorship import section_author_words
from copydesk.desk.item_view import RevisionView, SectionView
from copydesk.desk.review_queue import STATUS_WORDS
from copydesk.review.regeneration import Regenerator
from copydesk.review.sessions import Cookies, SignInLimiter
from copydesk.settings import Settings
from copydesk.storage import ObjectStore
from db.models import Decision

HERE = Path(__file__).resolve().parent
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass
class Desk:
    url: str
    store: ObjectStore
    settings: Settings
    templates: Jinja2Templates
    cookies: Cookies
    limiter: SignInLimiter
    regenerator: Regenerator


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped; no template uses |safe on data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = show_value
    env.filters["when"] = show_time
    env.filters["compact_json"] = lambda value: json.dumps(value, sort_keys=True, default=str)
    env.filters["check_words"] = check_words
    env.filters["author_words"] = author_words
    env.filters["status_words"] = lambda status: STATUS_WORDS.get(status, "in an unknown state")
    env.filters["decision_words"] = lambda decision: DECISION_WORDS.get(decision, "decided")
    return Jinja2Templates(env=env)


# What each check looks for, in an editor's words (the identifier stays in a tooltip);
# none repeats its identifier, so a page shows no check id as a word.
CHECK_WORDS = {
    "facts_present": "a fact is missing",
    "no_invented_values": "a wrong or invented value",
    "facts_once": "a fact said twice",
    "grounding": "not in the input",
    "subject": "about something else",
    "claims": "an unverifiable claim",
    "length": "too long or too short",
    "repetition": "repeated words",
    "unfinished": "a sentence cut off",
    "grammar": "spelling or usage",
    "forbidden_phrases": "a forbidden phrase",
    "leftovers": "prompt or markup left in",
}
# An editor's decision on an item, as the item's history tells it.
DECISION_WORDS = {
    Decision.APPROVE: "Approved",
    Decision.REJECT: "Rejected",
    Decision.EDIT: "Edited the text",
    Decision.REGENERATE: "Asked for a new text",
}


def check_words(check: str) -> str:
    return CHECK_WORDS.get(check, "another check")


def author_words(view: Any) -> str:
    """Who wrote a revision or a section's current text (`RevisionView`, `SectionView`),
    or a section's text from its refine decision alone."""
    if isinstance(view, RevisionView | SectionView):
        return view.author_words
    return section_author_words(str(view), None)


def show_value(value: Any) -> str:
    """An input record's value as plain text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(show_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def show_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else "—"


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """Render a page; the signed-in editor, CSRF token and pending flash come along."""
    desk = desk_of(request)
    flash = desk.cookies.read_flash(request)
    values = {
        "editor": getattr(request.state, "editor", None),
        "csrf": getattr(request.state, "csrf", ""),
        "flash": flash,
        "prefect_ui_url": (desk.settings.prefect_ui_url or "").rstrip("/"),
        **context,
    }
    response = desk.templates.TemplateResponse(request, name, values, status_code=status_code)
    if flash is not None:
        desk.cookies.clear_flash(response)
    return response


def error_page(
    request: Request, status_code: int, title: str, message: str, link: str | None = None
) -> Response:
    return render(
        request, "error.html", status_code, title=title, message=message, link=link or "/queue"
    )


def redirect(
    request: Request, location: str, flash: str | None = None, kind: str = "info"
) -> Response:
    response = RedirectResponse(location, status_code=303)
    if flash:
        desk_of(request).cookies.write_flash(response, flash, kind)
    return response


def safe_path(value: object, default: str = "/queue") -> str:
    """`value` if it is a path on this site (no scheme, no host), else `default`."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 for c in value):
        return default
    return value


class SecurityHeaders:
    """ASGI middleware: the security headers on every response; pages are not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
