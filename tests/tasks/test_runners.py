"""Which task runner generate-batch spreads its chunks with (COPYDESK_TASK_RUNNER)."""

from __future__ import annotations

import sys

import pytest

from copydesk.errors import ConfigurationError
from copydesk.settings import Settings, get_settings
from tasks.runners import dask_task_runner


def test_the_default_is_the_flows_own_thread_runner() -> None:
    assert get_settings().task_runner == "thread"
    assert dask_task_runner() is None


def test_dask_without_an_address_starts_a_local_cluster_of_n_processes() -> None:
    pytest.importorskip("prefect_dask")
    from prefect_dask.task_runners import DaskTaskRunner

    runner = dask_task_runner(Settings(task_runner="dask", dask_workers=3))
    assert isinstance(runner, DaskTaskRunner) and runner.address is None
    assert runner.cluster_class == "distributed.LocalCluster"
    assert runner.cluster_kwargs == {
        "n_workers": 3,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
    }


def test_dask_with_an_address_connects_to_that_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("prefect_dask")
    monkeypatch.setenv("COPYDESK_TASK_RUNNER", "dask")
    monkeypatch.setenv("COPYDESK_DASK_ADDRESS", "tcp://dask-scheduler:8786")
    get_settings.cache_clear()
    from prefect_dask.task_runners import DaskTaskRunner

    runner = dask_task_runner()
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://dask-scheduler:8786"


def test_dask_without_prefect_dask_is_a_one_line_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in ("prefect_dask", "prefect_dask.task_runners"):  # as if not installed
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigurationError, match=r"pip install 'copydesk\[dask\]'"):
        dask_task_runner(Settings(task_runner="dask"))


def test_an_unknown_runner_or_no_workers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("COPYDESK_TASK_RUNNER", "ray"), ("COPYDESK_DASK_WORKERS", "0")):
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match=name.removeprefix("COPYDESK_").lower()):
            get_settings()
        monkeypatch.delenv(name)
