"""Where the E2E NLG dev set is: `COPYDESK_E2E_DEVSET`, else `shared/` beside the checkout,
else the workplace's `/work/shared` (a clone made elsewhere still finds it)."""

from __future__ import annotations

import os
from pathlib import Path

RELATIVE = Path("shared") / "data" / "e2e" / "devset.csv"
ROOT = Path(__file__).resolve().parents[2]


def devset_path() -> Path:
    if given := os.environ.get("COPYDESK_E2E_DEVSET"):
        return Path(given)
    for candidate in (ROOT.parent / RELATIVE, Path("/work") / RELATIVE):
        if candidate.is_file():
            return candidate
    return ROOT.parent / RELATIVE


DEVSET = devset_path()
