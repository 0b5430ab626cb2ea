"""Secrets stay secret: not in logs, not in `copydesk config`, not in cookies.

What tests/copydesk/review/ already covers is not repeated here: every route refusing
anonymous requests and every write route refusing a viewer (test_auth.py's route-table
scans), CSRF tokens, cookie flags (HttpOnly, SameSite=Lax, Secure when configured),
security headers and CSP, the sign-in rate limit (429 after five failures per name and
client), tampered and stale sessions; secrets stored only as argon2id hashes
(tests/copydesk/test_editors.py).
"""

from __future__ import annotations

import base64
import json
import logging
import zlib

import pytest
from typer.testing import CliRunner

from copydesk.cli import app
from copydesk.review.sessions import SESSION_COOKIE
from tests.copydesk.review.conftest import ReviewDesk, csrf_of, sign_in, version_of

WRONG = "canary-wrong-secret-5d1e"
SIGNING_KEY = "s" * 40  # the review desk's COPYDESK_REVIEW_SECRET (tests/copydesk/review)


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )


def test_no_secret_reaches_the_logs(desk: ReviewDesk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    secret = desk.secrets["alice"]
    client = desk.client()
    token = csrf_of(client.get("/sign-in").text)
    for _ in range(5):  # wrong secrets, then the right one while rate-limited
        failed = client.post(
            "/sign-in", data={"name": "alice", "secret": WRONG, "csrf_token": token}
        )
        token = csrf_of(failed.text)
    limited = client.post("/sign-in", data={"name": "alice", "secret": secret, "csrf_token": token})
    assert limited.status_code == 429
    editor = desk.client()
    csrf = sign_in(editor, "bob", desk.secrets["bob"])
    item_id = desk.clean_ids[0]
    data = {"version": str(version_of(desk.url, item_id)), "csrf_token": csrf}
    assert editor.post(f"/items/{item_id}/approve", data=data).status_code == 303
    assert editor.post("/sign-out", data={"csrf_token": csrf}).status_code == 303

    logged = _everything_logged(caplog)
    assert "failed sign-in for 'alice'" in logged and "bob signed in" in logged  # it did log
    for value in (secret, desk.secrets["bob"], WRONG, SIGNING_KEY, csrf):
        assert value not in logged
    for response in (failed, limited):
        assert secret not in response.text and WRONG not in response.text


def test_a_name_cannot_forge_log_lines(desk: ReviewDesk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="copydesk.review")
    client = desk.client()
    forged = "mallory\nINFO alice signed in from 10.0.0.1"
    token = csrf_of(client.get("/sign-in").text)
    client.post("/sign-in", data={"name": forged, "secret": "x", "csrf_token": token})
    messages = [
        record.getMessage() for record in caplog.records if "mallory" in record.getMessage()
    ]
    assert messages and all("\n" not in message for message in messages)


def _cookie_payload(value: str) -> dict[str, object]:
    """An itsdangerous cookie's payload (signed, not encrypted: anyone can read it)."""
    compressed = value.startswith(".")
    body = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    data: dict[str, object] = json.loads(zlib.decompress(raw) if compressed else raw)
    return data


def test_the_session_cookie_holds_no_secret(desk: ReviewDesk) -> None:
    client = desk.client()
    sign_in(client, "alice", desk.secrets["alice"])
    value = client.cookies[SESSION_COOKIE]
    payload = _cookie_payload(value)
    assert set(payload) == {"e", "c", "x", "s"}  # editor id, CSRF token, expiry, stamp
    assert len(str(payload["s"])) == 20  # a digest of the stored hash, not the hash
    for secret in (desk.secrets["alice"], SIGNING_KEY, "$argon2"):
        assert secret not in value and secret not in json.dumps(payload)


def test_copydesk_config_hides_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    canaries = {
        "COPYDESK_S3_SECRET_KEY": "canary-s3-secret-77",
        "COPYDESK_OPENAI_API_KEY": "canary-openai-key-78",
        "COPYDESK_REVIEW_SECRET": "canary-review-signing-key-79-" + "x" * 20,
        "COPYDESK_EDITOR_SECRET": "canary-editor-secret-80",
    }
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(
        "COPYDESK_DATABASE_URL", "postgresql+psycopg://copydesk:canary-db-password-81@db/copydesk"
    )
    monkeypatch.setenv("COPYDESK_REVIEW_URL", "http://desk.example/[/bold]")  # no markup either

    result = CliRunner().invoke(app, ["config"])

    assert result.exit_code == 0, result.output
    for value in (*canaries.values(), "canary-db-password-81"):
        assert value not in result.output
    assert "s3_secret_key = **********" in result.output
    assert "database_url = postgresql+psycopg://copydesk:***@db/copydesk" in result.output
    assert "(database) = postgresql+psycopg://copydesk:***@db/copydesk" in result.output
    assert "review_url = http://desk.example/[/bold]" in result.output
