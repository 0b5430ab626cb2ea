"""The key that signs the review desk's session cookies.

`COPYDESK_REVIEW_SECRET` when set. Without it, on the embedded defaults (the default
environment, a SQLite database, the desk on a loopback address) a key made on first use
is kept in COPYDESK_HOME (`review-secret`, mode 0600), so `copydesk review` works on one
machine with no set-up and sign-ins survive a restart. Serving on another interface,
with PostgreSQL, or with COPYDESK_ENV=production set explicitly still requires the
variable. In development and test an unset key is a random one per process.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path

from copydesk.errors import ConfigurationError
from copydesk.settings import Settings

MIN_SECRET_CHARS = 32
# The file that keeps the key: a file name, not a secret.
SECRET_FILE = "review-secret"  # noqa: S105  # nosec B105
log = logging.getLogger("copydesk.review")


def session_key(settings: Settings, *, database_url: str, host: str = "127.0.0.1") -> str:
    """The signing key for a desk on `database_url`, served on `host`."""
    secret = settings.review_secret.get_secret_value()
    if settings.env != "production":
        if not secret:
            log.warning("COPYDESK_REVIEW_SECRET is not set: using a random key for this process")
            return secrets.token_urlsafe(32)
        return secret
    if len(secret) >= MIN_SECRET_CHARS:
        return secret
    needs = _why_a_secret_is_needed(settings, database_url, host)
    if needs or secret:
        raise ConfigurationError(
            f"COPYDESK_REVIEW_SECRET must be set to {MIN_SECRET_CHARS} or more random characters "
            f"{needs or '(the one set is too short)'} "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    return home_secret(settings.home)


def _why_a_secret_is_needed(settings: Settings, database_url: str, host: str) -> str | None:
    if "env" in settings.model_fields_set:
        return "when COPYDESK_ENV=production is set"
    if not is_loopback(host):
        return f"to serve the desk on {host} (a non-loopback address)"
    if not database_url.startswith("sqlite"):
        return "with a database server (the embedded default is SQLite)"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def home_secret(home: Path) -> str:
    """The key kept in `home` (made on first use, readable by this user only)."""
    path = home / SECRET_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # a copy made by hand keeps no wider mode
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32))
    log.info("made the review desk's signing key in %s", path)
    return path.read_text(encoding="utf-8").strip()
