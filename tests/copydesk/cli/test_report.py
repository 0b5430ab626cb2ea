"""`copydesk report`: a batch's quality report, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from copydesk.settings import get_settings
from tests.copydesk.cli.test_main import copydesk
from tests.copydesk.pipeline.test_refine import ALIMENTUM, GOOD, _csv, _run


def test_report_prints_the_batch_quality(isolated_settings: Path, tmp_path: Path) -> None:
    url = get_settings().resolved_database_url
    mrs = [ALIMENTUM, "name[Zizzi], eatType[pub], area[riverside]"]
    # Alimentum's text is right; Zizzi's never is, so Zizzi ends on the fallback.
    batch_id, _ = _run(url, tmp_path, _csv(tmp_path, mrs), lambda request: GOOD)

    result = copydesk("report", str(batch_id), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["items"] == 2 and report["decisions"] == {"fallback": 1, "passed": 1}
    assert report["fact_error_rate"] == 0.0
    assert report["fact_error_rate_first_attempt"] > 0.5  # Zizzi's facts were all wrong
    assert report["items_needing_fallback"] == 0.5

    table = copydesk("report", str(batch_id))
    assert table.returncode == 0
    for figure in ("fact error rate", "items needing the fallback", "50.0%", "0.0%"):
        assert figure in table.stdout


def test_report_on_an_unknown_batch_is_one_line(isolated_settings: Path) -> None:
    copydesk("db", "upgrade")
    result = copydesk("report", "999")
    assert result.returncode != 0
    assert "no batch 999" in result.stderr and "Traceback" not in result.stderr
