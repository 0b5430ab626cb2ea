"""The `tune-model` flow: the editors' approvals (or a reference file) → a new model
version of a content type. Wiring only: one task runs the core tune; on a cron it skips
when nothing was approved since the last version (`only_new_data`)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.tune import tune_task


@flow(name="tune-model", flow_run_name="tune {content_type}", log_prints=True)
def tune_model(
    content_type: str,
    reference: str | None = None,
    batch_ids: list[int] | None = None,
    include_template: bool = False,
    name: str | None = None,
    only_new_data: bool = False,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Fine-tune the configured base model for `content_type` into a model version (with
    `settings`: TuneSettings fields such as steps, batch_size, lora_r, seed)."""
    options = {
        "reference": reference,
        "batch_ids": batch_ids,
        "include_template": include_template,
        "name": name,
        "only_new_data": only_new_data,
        "settings": settings or {},
    }
    result = tune_task(content_type, options)
    if result is None:
        print(f"no new training data for {content_type}: no new version")
    else:
        print(f"model version {result['version']}: `copydesk models promote` to use it")
    return result
