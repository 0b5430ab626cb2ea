"""`copydesk show`'s lineage text: candidates named, a run outside Prefect said in words
(not "flow run None"), each finding once."""

from __future__ import annotations

from pathlib import Path

from copydesk.pipeline.types import GenerationOptions
from copydesk.reports.lineage import describe_item
from tests.copydesk.pipeline.test_candidates import BAD, run_one
from tests.support.fake_generator import FakeGenerator


def test_the_lineage_names_candidates_and_in_process_runs(
    database_url: str, tmp_path: Path
) -> None:
    generator = FakeGenerator(responder=lambda request: BAD)
    options = GenerationOptions(candidates=2, max_attempts=1)
    item_id = run_one(database_url, tmp_path, generator, options)

    text = describe_item(database_url, item_id)
    assert "flow run None" not in text and "run in process (no Prefect flow run)" in text
    assert "attempt 1 candidate 2" in text
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("generation ") or line.startswith("refinement "):
            blocks.append([])
        elif line.startswith("  finding") and blocks:
            blocks[-1].append(line)
    assert any(blocks) and all(len(block) == len(set(block)) for block in blocks)
