"""The home a command works in, made ready on first use: the database schema at head
and the shipped model versions installed (each step said on stderr when it happens)."""

from __future__ import annotations

from rich.console import Console

from copydesk.settings import get_settings

err = Console(stderr=True, soft_wrap=True)


def ready_home() -> str:
    """The database URL, its schema at head, and the shipped model versions installed."""
    from copydesk.storage import create_store
    from copydesk.tuning.shipped import install_shipped_versions
    from db.migrate import require_head, safe_url

    settings = get_settings()
    url = settings.resolved_database_url
    if require_head(url, create=True):
        err.print(f"created the database schema in {safe_url(url)}", highlight=False)
    for name in install_shipped_versions(settings, create_store(settings)):
        err.print(f"installed the shipped model version {name}", highlight=False)
    return url
