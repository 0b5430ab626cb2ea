"""`copydesk doctor`: check each part Copydesk depends on and say what is wrong."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from copydesk.errors import CopydeskError
from copydesk.generation.bundled import find_bundled_gguf
from copydesk.settings import Settings
from copydesk.storage import create_store
from db.migrate import current_revision, head_revision, safe_url


@dataclass(frozen=True)
class CheckResult:
    part: str
    ok: bool
    detail: str
    warning: bool = False  # it works, with something to fix (doctor still exits 0)


def check_database(settings: Settings) -> CheckResult:
    url = settings.resolved_database_url
    current, head = current_revision(url), head_revision()
    if current != head:
        state = "not migrated" if current is None else f"at revision {current}"
        return CheckResult(
            "database",
            False,
            f"{safe_url(url)} is {state}, expected {head}: run `copydesk db upgrade`",
        )
    return CheckResult("database", True, f"{safe_url(url)} at revision {head} (newest)")


def check_object_store(settings: Settings) -> CheckResult:
    store = create_store(settings)
    key = f"doctor/probe-{os.getpid()}"
    data = b"copydesk doctor write probe"
    store.put(key, data, "text/plain")
    try:
        if store.get(key) != data:
            return CheckResult("object store", False, f"{store.description}: read back other bytes")
    finally:
        store.delete(key)
    return CheckResult("object store", True, f"{store.description} is reachable and writable")


def check_model(settings: Settings) -> CheckResult:
    if settings.text_model == "bundled":
        path = find_bundled_gguf()
        size_mb = path.stat().st_size / 1e6
        return CheckResult(
            "text model", True, f"bundled SmolLM2-135M-Instruct at {path} ({size_mb:.0f} MB)"
        )
    folder = Path(settings.text_model)
    if not (folder / "config.json").is_file():
        return CheckResult(
            "text model",
            False,
            f"{folder} is not a model folder (no config.json); check COPYDESK_TEXT_MODEL",
        )
    return CheckResult("text model", True, f"local model folder {folder}")


def check_prefect(settings: Settings) -> CheckResult:
    if not settings.prefect_api_url:
        return CheckResult(
            "prefect", True, "ephemeral local API (set PREFECT_API_URL to use a server)"
        )
    url = settings.prefect_api_url.rstrip("/")
    try:
        response = httpx.get(f"{url}/health", timeout=5)
    except httpx.HTTPError as exc:
        return CheckResult(
            "prefect", False, f"server {url} unreachable: {exc.__class__.__name__}: {exc}"
        )
    if response.status_code != 200:
        return CheckResult(
            "prefect", False, f"server {url} answered {response.status_code} on /health"
        )
    ui_api = _ui_api_url(url)
    if ui_api is not None and ui_api.rstrip("/") != url:
        return CheckResult(
            "prefect",
            True,
            f"server {url} is healthy, but its web UI calls the API at {ui_api}, so the UI "
            f"shows nothing or another server's runs: start the server with "
            f"PREFECT_UI_API_URL={url} (Prefect's UI assumes port 4200 otherwise)",
            warning=True,
        )
    return CheckResult("prefect", True, f"server {url} is healthy")


def _ui_api_url(api_url: str) -> str | None:
    """The API URL the server's web UI calls (its /ui-settings), None where it has no UI."""
    root = api_url.removesuffix("/api")
    try:
        response = httpx.get(f"{root}/ui-settings", timeout=5)
        value = response.json().get("api_url") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(value) if value else None


CHECKS: dict[str, Callable[[Settings], CheckResult]] = {
    "database": check_database,
    "object store": check_object_store,
    "text model": check_model,
    "prefect": check_prefect,
}


def run_checks(settings: Settings) -> list[CheckResult]:
    """Every check, each isolated: one failing part never hides another."""
    results = []
    for part, check in CHECKS.items():
        try:
            results.append(check(settings))
        except CopydeskError as exc:
            results.append(CheckResult(part, False, str(exc)))
    return results
