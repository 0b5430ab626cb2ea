"""The README's configuration table matches the settings the code reads."""

import re
from pathlib import Path

from copydesk.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_and_nothing_else() -> None:
    documented = set(
        re.findall(r"^\| `((?:COPYDESK|PREFECT)_[A-Z0-9_]+)` \|", README.read_text(), re.M)
    )
    expected = {
        "PREFECT_API_URL" if name == "prefect_api_url" else f"COPYDESK_{name.upper()}"
        for name in Settings.model_fields
    }
    assert documented == expected
