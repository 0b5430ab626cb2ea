"""The editors' review app: FastAPI with server-rendered Jinja2 pages.

`create_app()` builds everything from the settings (nothing happens at import time);
tests pass their own database URL, store, generator factory and settings. Every page but
the sign-in page and the static files needs a signed-in, active editor; every POST needs
the session's CSRF token; decisions need the `editor` role (checked here and again in
`copydesk.desk.decisions`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from copydesk.desk.decisions import ConflictError, DecisionError
from copydesk.desk.editors import PermissionDenied
from copydesk.errors import CopydeskError
from copydesk.generation.base import TextGenerator
from copydesk.review import auth, routes_item, routes_queue
from copydesk.review.auth import CsrfError, NotSignedIn
from copydesk.review.regeneration import GeneratorFactory, Regenerator
from copydesk.review.secret import is_loopback, session_key
from copydesk.review.sessions import Cookies, SignInLimiter
from copydesk.review.web import (
    HERE,
    Desk,
    SecurityHeaders,
    desk_of,
    error_page,
    make_templates,
    redirect,
)
from copydesk.settings import Settings, get_settings
from copydesk.storage import ObjectStore, create_store

log = logging.getLogger("copydesk.review")


def create_app(
    url: str | None = None,
    store: ObjectStore | None = None,
    generator_factory: GeneratorFactory | None = None,
    settings: Settings | None = None,
    host: str = "127.0.0.1",
) -> FastAPI:
    """The review app on the settings' database and store (or the ones given), to be served
    on `host` (a desk on a non-loopback address needs COPYDESK_REVIEW_SECRET)."""
    settings = settings or get_settings()
    url = url or settings.resolved_database_url
    cookies = Cookies(
        session_key(settings, database_url=url, host=host),
        secure=settings.review_cookie_secure,
        session_hours=settings.review_session_hours,
    )
    if settings.env == "production" and not settings.review_cookie_secure and not is_loopback(host):
        log.warning(
            "COPYDESK_REVIEW_COOKIE_SECURE is off: session cookies also travel over plain "
            "HTTP; serve the app behind TLS and turn it on"
        )
    store = store if store is not None else create_store(settings)
    regenerator = Regenerator(url, store, generator_factory or _default_generator(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        regenerator.shutdown()

    # No /docs or /openapi.json: they would be pages anyone could read without signing in.
    app = FastAPI(
        title="Copydesk review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.desk = Desk(
        url, store, settings, make_templates(), cookies, SignInLimiter(), regenerator
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router)
    app.include_router(routes_queue.router)
    app.include_router(routes_item.router)
    _add_error_pages(app)
    return app


def _default_generator(settings: Settings) -> GeneratorFactory:
    def factory(version_id: int | None) -> TextGenerator:
        from copydesk.tuning.serving import version_generator  # loads torch: lazily

        return version_generator(settings, version_id)

    return factory


def _reload_link(request: Request) -> str:
    item_id = request.path_params.get("item_id")
    return f"/items/{item_id}" if isinstance(item_id, int) else "/queue"


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    def not_signed_in(request: Request, exc: Exception) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            target = request.url.path if request.method == "GET" else _reload_link(request)
            if request.method == "GET" and request.url.query:
                target += "?" + request.url.query
            response = redirect(request, "/sign-in?next=" + quote(target, safe=""))
        else:
            response = error_page(
                request, 401, "Sign in first", "This page is for signed-in editors.", "/sign-in"
            )
        desk_of(request).cookies.clear_session(response)
        return response

    @app.exception_handler(CsrfError)
    def csrf_error(request: Request, exc: Exception) -> Response:
        message = (
            "The form's security token is missing or wrong (the page may be old, or the form "
            "came from another site). Nothing was changed: reload the page and try again."
        )
        return error_page(request, 403, "Form refused", message, _reload_link(request))

    @app.exception_handler(PermissionDenied)
    def permission_denied(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, "Not allowed", str(exc), _reload_link(request))

    @app.exception_handler(ConflictError)
    def conflict(request: Request, exc: Exception) -> Response:
        return error_page(
            request, 409, "Someone else decided first", str(exc), _reload_link(request)
        )

    @app.exception_handler(DecisionError)
    def refused(request: Request, exc: Exception) -> Response:
        return error_page(request, 422, "Decision refused", str(exc), _reload_link(request))

    @app.exception_handler(CopydeskError)
    def bad_request(request: Request, exc: Exception) -> Response:
        return error_page(request, 400, "Request refused", str(exc), _reload_link(request))

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Something went wrong."
        response = error_page(request, status, f"Error {status}", str(detail))
        if isinstance(exc, HTTPException) and exc.headers:
            response.headers.update(exc.headers)
        return response
