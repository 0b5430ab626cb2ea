"""Process-wide environment Copydesk needs, applied by entry points (never at import)."""

from __future__ import annotations

import os

# Offline by design: nothing may reach a model hub, and Prefect's telemetry calls
# fail offline (they once caused `database is locked` on Prefect's SQLite database).
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def prepare_environment() -> None:
    """Set the offline and no-telemetry variables unless the user set them."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
