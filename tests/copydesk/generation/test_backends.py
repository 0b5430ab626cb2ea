"""Which modules the pipeline's processes import: torch only when a model needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_flows_and_the_cli_import_without_torch() -> None:
    # A flow process with a remote text backend, and every CLI command that needs no model,
    # start without torch (about a second and 190 MB of memory each); the model backends import it.
    modules = imported_after(
        "import flows.generate_batch, flows.regenerate, flows.publish, flows.inbox\n"
        "import copydesk.cli, tasks.common, copydesk.pipeline.images"
    )
    assert "prefect" in modules
    assert "torch" not in modules
    assert "transformers" not in modules


def test_the_image_backend_imports_torch() -> None:
    modules = imported_after("import copydesk.generation.hf_image")
    assert "torch" in modules
