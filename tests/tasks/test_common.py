"""The retry budget of the pipeline tasks comes from the settings, when a flow runs."""

from __future__ import annotations

import pytest

from copydesk.settings import get_settings
from tasks.common import RETRIES, RETRY_DELAYS, with_retries
from tasks.output import output_task


def test_tasks_get_the_default_budget() -> None:
    named = with_retries(output_task, task_run_name="output chunk 1/1")
    assert (named.retries, named.retry_delay_seconds) == (RETRIES, RETRY_DELAYS) == (2, [2, 10])
    assert named.task_run_name == "output chunk 1/1"


def test_tasks_get_the_configured_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_TASK_RETRIES", "5")
    monkeypatch.setenv("COPYDESK_TASK_RETRY_DELAYS", "1, 2.5,30")
    get_settings.cache_clear()
    named = with_retries(output_task)
    assert (named.retries, named.retry_delay_seconds) == (5, [1.0, 2.5, 30.0])
    assert (output_task.retries, output_task.retry_delay_seconds) == (2, [2, 10])  # unchanged
