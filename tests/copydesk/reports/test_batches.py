"""The batch's final state in Prefect's run list: a batch whose sections mostly ended on
the fallback (or flagged) is named so, with the counts; a clean one is Completed."""

from __future__ import annotations

from typing import Any

from copydesk.reports.batches import batch_verdict


def summary(**decisions: int) -> dict[str, Any]:
    return {
        "batch_id": 3,
        "total": 4,
        "counts": {"pending_review": 4},
        "quality": {"decisions": decisions},
    }


def test_mostly_fallback_is_named_in_the_state() -> None:
    name, message = batch_verdict(summary(passed=1, fallback=3))
    assert name == "Mostly fallback"
    assert "1 written by the model, 3 on the template fallback, 0 flagged" in message
    assert batch_verdict(summary(fallback=1, flagged=2))[0] == "Mostly flagged"


def test_a_batch_the_model_wrote_is_completed() -> None:
    name, message = batch_verdict(summary(passed=2, fixed=1, fallback=1))
    assert name == "Completed" and message.startswith("batch 3: 4 item(s), 4 to review")
    assert batch_verdict(summary())[0] == "Completed"  # nothing decided (all failed)


def test_the_flow_run_url_uses_the_ui_url_else_the_api_server() -> None:
    from copydesk.reports.batches import flow_run_url

    run = "0b1c"
    assert flow_run_url("http://ui:4200/", None, run) == "http://ui:4200/runs/flow-run/0b1c"
    assert flow_run_url(None, "http://127.0.0.1:4299/api", run) == (
        "http://127.0.0.1:4299/runs/flow-run/0b1c"
    )
