"""Signing in and out, sessions, CSRF, rate limiting, roles and security headers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from copydesk.desk.editors import reset_secret, set_active
from copydesk.errors import ConfigurationError
from copydesk.review.app import create_app
from copydesk.review.sessions import SignInLimiter
from copydesk.review.web import CONTENT_SECURITY_POLICY
from copydesk.settings import Settings
from copydesk.storage import LocalStore
from tests.copydesk.review.conftest import ReviewDesk, csrf_of, sign_in, snapshot, version_of
from tests.support.desk import editor

HTML = {"accept": "text/html,application/xhtml+xml"}


def _concrete(path: str, item_id: int) -> str:
    return re.sub(r"\{item_id(:int)?\}", str(item_id), path)


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI 0.150 keeps those as
    `_IncludedRouter` entries holding the `original_router`; the app uses no prefixes)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            found += _api_routes(route.original_router.routes)
    return found


def _routes(desk: ReviewDesk) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, with a real item id filled in."""
    return [
        (method, _concrete(route.path, desk.clean_ids[0]))
        for route in _api_routes(desk.app.routes)
        for method in sorted(route.methods - {"HEAD"})
    ]


def test_every_route_but_sign_in_refuses_anonymous_requests(desk: ReviewDesk) -> None:
    client = desk.client()
    routes = _routes(desk)
    assert ("POST", f"/items/{desk.clean_ids[0]}/approve") in routes  # the scan sees them
    before = snapshot(desk.url)
    for method, path in routes:
        if path == "/sign-in":
            continue
        plain = client.request(method, path, data={"version": "1", "reason": "x", "notes": "x"})
        assert plain.status_code == 401, (method, path)
        browser = client.request(method, path, headers=HTML)
        assert browser.status_code == 303, (method, path)
        assert browser.headers["location"].startswith("/sign-in?next=")
    assert snapshot(desk.url) == before
    assert client.get("/static/review.css").status_code == 200
    assert client.get("/sign-in").status_code == 200
    for hidden in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(hidden).status_code == 404


def test_post_routes_need_a_session_and_an_editor_role(desk: ReviewDesk) -> None:
    """The route-table scan: anonymous → 401 (303 for browsers), viewer → 403, for every
    POST route but signing in (and out: a viewer may sign out)."""
    viewer = desk.client()
    token = sign_in(viewer, "vera", desk.secrets["vera"])
    before = snapshot(desk.url)
    posts = [path for method, path in _routes(desk) if method == "POST" and path != "/sign-in"]
    assert len(posts) >= 6
    for path in posts:
        assert desk.client().post(path).status_code == 401, path
        assert desk.client().post(path, headers=HTML).status_code == 303, path
        form = {
            "csrf_token": token,
            "version": str(version_of(desk.url, desk.clean_ids[0])),
            "item_id": str(desk.clean_ids[0]),
            f"version_{desk.clean_ids[0]}": "1",
            "reason": "no",
            "notes": "more",
        }
        response = viewer.post(path, data=form)
        if path == "/sign-out":
            assert response.status_code == 303
            token = sign_in(viewer, "vera", desk.secrets["vera"])
            continue
        assert response.status_code == 403, path
        assert "viewer" in response.text
    assert snapshot(desk.url) == before


def test_viewer_sees_no_decision_forms(desk: ReviewDesk) -> None:
    viewer = desk.signed_in("vera")
    page = viewer.get(f"/items/{desk.clean_ids[0]}")
    assert page.status_code == 200
    assert 'id="approve-form"' not in page.text and 'id="reject-form"' not in page.text
    assert 'id="edit-form"' not in page.text and 'id="regenerate-form"' not in page.text
    assert "deciding needs the editor role" in page.text
    queue = viewer.get("/queue")
    assert 'name="item_id"' not in queue.text and "Approve selected" not in queue.text


def test_posts_without_or_with_a_wrong_csrf_token_are_refused(desk: ReviewDesk) -> None:
    client = desk.client()
    token = sign_in(client, "alice", desk.secrets["alice"])
    item_id = desk.clean_ids[0]
    before = snapshot(desk.url)
    version = str(version_of(desk.url, item_id))
    for data in (
        {"version": version},
        {"version": version, "csrf_token": ""},
        {"version": version, "csrf_token": token[:-2] + "xx"},
    ):
        response = client.post(f"/items/{item_id}/approve", data=data)
        assert response.status_code == 403
        assert "security token" in response.text
        bulk = {**data, "item_id": str(item_id), f"version_{item_id}": version}
        assert client.post("/queue/approve", data=bulk).status_code == 403
        assert client.post("/sign-out", data=data).status_code == 403
    assert snapshot(desk.url) == before
    # Another editor's token does not work in this session either.
    other = sign_in(desk.client(), "bob", desk.secrets["bob"])
    assert other != token
    data = {"version": version, "csrf_token": other}
    assert client.post(f"/items/{item_id}/approve", data=data).status_code == 403
    assert snapshot(desk.url) == before
    # The right token does.
    data = {"version": version, "csrf_token": token}
    assert client.post(f"/items/{item_id}/approve", data=data).status_code == 303


def test_session_cookie_flags_and_security_headers(desk: ReviewDesk) -> None:
    client = desk.client()
    form = client.get("/sign-in")
    data = {"name": "alice", "secret": desk.secrets["alice"], "csrf_token": csrf_of(form.text)}
    response = client.post("/sign-in", data=data)
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("copydesk_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # review_cookie_secure is off in these settings
    assert desk.secrets["alice"] not in cookie
    for each in (
        client.get("/queue"),
        client.get(f"/items/{desk.clean_ids[0]}"),
        client.get("/static/review.js"),
        client.get("/no-such-page"),
        desk.client().get("/queue"),
        form,
        response,
    ):
        assert each.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert each.headers["x-content-type-options"] == "nosniff"
        assert each.headers["referrer-policy"] == "same-origin"
    page = client.get("/queue").text
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def test_secure_cookie_when_configured(database_url: str, tmp_path: Path) -> None:
    _, secret = editor(database_url, "alice")
    settings = Settings(env="test", review_secret="k" * 40, review_cookie_secure=True)
    app = create_app(database_url, LocalStore(tmp_path / "o"), settings=settings)
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"name": "alice", "secret": secret, "csrf_token": csrf_of(form.text)}
    )
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_secret_then_rate_limit(desk: ReviewDesk) -> None:
    client = desk.client()
    token = csrf_of(client.get("/sign-in").text)
    for attempt in range(5):
        response = client.post(
            "/sign-in", data={"name": "alice", "secret": f"wrong-{attempt}", "csrf_token": token}
        )
        assert response.status_code == 401
        assert "Unknown editor or wrong secret" in response.text
        token = csrf_of(response.text)
    sixth = client.post(
        "/sign-in", data={"name": "alice", "secret": desk.secrets["alice"], "csrf_token": token}
    )
    assert sixth.status_code == 429
    assert "Too many failed sign-ins" in sixth.text and int(sixth.headers["retry-after"]) > 0
    assert "copydesk_session=" in sixth.headers["set-cookie"]
    assert sign_in(desk.client(), "bob", desk.secrets["bob"])  # other names are not blocked


def test_sign_in_limiter_window() -> None:
    now = [1000.0]
    limiter = SignInLimiter(max_failures=2, window_s=60, clock=lambda: now[0])
    key = ("alice", "127.0.0.1")
    limiter.failed(key)
    assert limiter.retry_after(key) is None
    limiter.failed(key)
    assert limiter.retry_after(key) == 60
    now[0] += 61
    assert limiter.retry_after(key) is None
    limiter.failed(key)
    limiter.succeeded(key)
    assert limiter.retry_after(key) is None


def test_sign_in_needs_its_form_token_and_only_redirects_locally(desk: ReviewDesk) -> None:
    client = desk.client()
    data = {"name": "alice", "secret": desk.secrets["alice"]}
    assert client.post("/sign-in", data=data).status_code == 403  # no form, no token
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in", data={**data, "csrf_token": token, "next": "//evil.example/x"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    client = desk.client()
    page = client.get(f"/sign-in?next=/items/{desk.clean_ids[1]}")
    response = client.post(
        "/sign-in",
        data={**data, "csrf_token": csrf_of(page.text), "next": f"/items/{desk.clean_ids[1]}"},
    )
    assert response.headers["location"] == f"/items/{desk.clean_ids[1]}"
    assert client.get("/sign-in").status_code == 303  # already signed in


def test_sign_out_and_deactivation_end_the_session(desk: ReviewDesk) -> None:
    client = desk.client()
    token = sign_in(client, "alice", desk.secrets["alice"])
    response = client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert client.get("/queue").status_code == 401
    client = desk.signed_in("bob")
    assert client.get("/queue").status_code == 200
    set_active(desk.url, "bob", False)
    assert client.get("/queue").status_code == 401  # at once, not at the cookie's expiry


def test_a_new_secret_ends_the_sessions_of_the_old_one(desk: ReviewDesk) -> None:
    client = desk.signed_in("alice")
    assert client.get("/queue").status_code == 200
    new = reset_secret(desk.url, "alice")
    assert client.get("/queue").status_code == 401
    fresh = desk.client()
    sign_in(fresh, "alice", new)
    assert fresh.get("/queue").status_code == 200


def test_tampered_session_cookie_reads_as_signed_out(desk: ReviewDesk) -> None:
    client = desk.signed_in("vera")
    value = client.cookies["copydesk_session"]
    payload, rest = value.split(".", 1)
    client.cookies.clear()
    client.cookies.set("copydesk_session", payload[:-3] + "AAA." + rest)
    assert client.get("/queue").status_code == 401
    other = Settings(env="test", review_secret="z" * 40)
    forged_app = create_app(desk.url, desk.store, settings=other)
    forger = TestClient(forged_app, follow_redirects=False)
    sign_in(forger, "alice", desk.secrets["alice"])  # a cookie signed with another key
    client.cookies.clear()
    client.cookies.set("copydesk_session", forger.cookies["copydesk_session"])
    assert client.get("/queue").status_code == 401


def test_production_needs_a_review_secret(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'unused.db'}"  # never opened
    store = LocalStore(tmp_path / "o")
    with pytest.raises(ConfigurationError, match="COPYDESK_REVIEW_SECRET"):
        create_app(database_url, store, settings=Settings(env="production"))
    with pytest.raises(ConfigurationError):
        create_app(database_url, store, settings=Settings(env="production", review_secret="short"))
    create_app(database_url, store, settings=Settings(env="production", review_secret="p" * 40))
    create_app(database_url, store, settings=Settings(env="development"))  # a random key
