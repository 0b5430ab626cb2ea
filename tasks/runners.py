"""Where a batch's chunks run: in the flow run, one after another (the default), or on Dask."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner

from copydesk.errors import ConfigurationError
from copydesk.settings import Settings, get_settings


def dask_task_runner(settings: Settings | None = None) -> TaskRunner[Any] | None:
    """A Dask task runner when `COPYDESK_TASK_RUNNER=dask`, else None (the thread runner).

    With `COPYDESK_DASK_ADDRESS` it connects to that scheduler (its workers need the same
    COPYDESK_* settings and this code installed); without, it starts a local cluster of
    `COPYDESK_DASK_WORKERS` single-threaded processes for the flow run, without a dashboard.
    """
    settings = settings or get_settings()
    if settings.task_runner != "dask":
        return None
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError as exc:
        raise ConfigurationError(
            "COPYDESK_TASK_RUNNER=dask needs prefect-dask: pip install 'copydesk[dask]'"
        ) from exc
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,  # one chunk at a time per process (and model)
            "processes": True,
            "dashboard_address": None,
        },
    )
