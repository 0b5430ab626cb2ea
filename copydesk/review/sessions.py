"""Signed cookies for the review app: the session (editor id, CSRF token, expiry), the
one-shot flash message, and the in-memory limit on failed sign-ins.

Cookies are signed with itsdangerous under the app's key (`review_secret`); a cookie that
was tampered with, signed with another key or is past its expiry reads as absent.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "copydesk_session"
FLASH_COOKIE = "copydesk_flash"
ANONYMOUS_SESSION_S = 3600.0  # a sign-in form's CSRF token lasts an hour
FLASH_MAX_CHARS = 1500


@dataclass(frozen=True)
class Session:
    editor_id: int | None  # None: not signed in yet (the sign-in form's session)
    csrf: str
    expires: float  # unix time
    stamp: str = ""  # the editor's secret stamp at sign-in (a reset ends the session)

    def token_matches(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(
            token.encode("utf-8"), self.csrf.encode("utf-8")
        )


@dataclass(frozen=True)
class Flash:
    text: str
    kind: str = "info"  # info | success | error


class Cookies:
    """Reads and writes the app's signed cookies."""

    def __init__(self, secret: str, *, secure: bool, session_hours: float) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="copydesk.review.session")
        self._flashes = URLSafeTimedSerializer(secret, salt="copydesk.review.flash")
        self.secure = secure
        self.session_s = session_hours * 3600.0

    def new_session(self, editor_id: int | None, stamp: str = "") -> Session:
        lifetime = self.session_s if editor_id is not None else ANONYMOUS_SESSION_S
        return Session(editor_id, secrets.token_urlsafe(32), time.time() + lifetime, stamp)

    def read_session(self, request: Request) -> Session | None:
        data = self._load(self._sessions, request.cookies.get(SESSION_COOKIE), self.session_s)
        if not isinstance(data, dict):
            return None
        editor_id, csrf, expires = data.get("e"), data.get("c"), data.get("x")
        stamp = data.get("s", "")
        if not isinstance(csrf, str) or not isinstance(expires, int | float):
            return None
        if not isinstance(stamp, str):
            return None
        if editor_id is not None and not isinstance(editor_id, int):
            return None
        if expires < time.time():
            return None
        return Session(editor_id, csrf, float(expires), stamp)

    def write_session(self, response: Response, session: Session) -> None:
        value = self._sessions.dumps(
            {"e": session.editor_id, "c": session.csrf, "x": session.expires, "s": session.stamp}
        )
        self._set(response, SESSION_COOKIE, value, int(session.expires - time.time()))

    def clear_session(self, response: Response) -> None:
        self._delete(response, SESSION_COOKIE)

    def read_flash(self, request: Request) -> Flash | None:
        data = self._load(self._flashes, request.cookies.get(FLASH_COOKIE), 300)
        if not isinstance(data, dict) or not isinstance(data.get("t"), str):
            return None
        kind = data.get("k")
        return Flash(data["t"], kind if kind in {"info", "success", "error"} else "info")

    def write_flash(self, response: Response, text: str, kind: str = "info") -> None:
        if len(text) > FLASH_MAX_CHARS:
            text = text[: FLASH_MAX_CHARS - 1] + "…"
        self._set(response, FLASH_COOKIE, self._flashes.dumps({"t": text, "k": kind}), 300)

    def clear_flash(self, response: Response) -> None:
        self._delete(response, FLASH_COOKIE)

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, value: str | None, max_age: float) -> Any:
        if not value:
            return None
        try:
            return serializer.loads(value, max_age=int(max_age) + 1)
        except BadSignature:  # also covers expired signatures
            return None

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max(max_age, 0),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def _delete(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=self.secure)


class SignInLimiter:
    """At most `max_failures` failed sign-ins per key (name + client) in `window_s`."""

    MAX_KEYS = 10_000

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window_s, self._clock = max_failures, window_s, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str]) -> float | None:
        """Seconds until `key` may try again, or None when it may try now."""
        with self._lock:
            recent = self._recent(key)
            if len(recent) < self.max_failures:
                return None
            return max(1.0, recent[0] + self.window_s - self._clock())

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                self._prune()
            self._failures.setdefault(key, deque()).append(self._clock())

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        recent = self._failures.get(key, deque())
        while recent and recent[0] <= self._clock() - self.window_s:
            recent.popleft()
        return recent

    def _prune(self) -> None:
        for key in list(self._failures):
            if not self._recent(key):
                del self._failures[key]
        if len(self._failures) >= self.MAX_KEYS:  # still full: forget the oldest keys
            for key in list(self._failures)[: self.MAX_KEYS // 10]:
                del self._failures[key]
