"""What every task resolves: settings, the run ids for lineage, the backends."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from prefect import Task
from prefect.runtime import flow_run, task_run

from copydesk.content.images import NO_IMAGE_MODEL
from copydesk.errors import ConfigurationError
from copydesk.generation.backends import create_image_generator
from copydesk.generation.base import TextGenerator
from copydesk.pipeline.images import ImageGenerator
from copydesk.pipeline.types import RunIds
from copydesk.settings import get_settings
from copydesk.storage import ObjectStore, create_store
from copydesk.tuning.serving import version_generator

TaskT = TypeVar("TaskT", bound="Task[Any, Any]")

# Transient failures (object store, database, model server) get retried with backoff.
# These are the decoration-time values (the settings' defaults); flows call the stage
# tasks through `with_retries`, which applies COPYDESK_TASK_RETRIES / _RETRY_DELAYS.
RETRIES = 2
RETRY_DELAYS: list[float] = [2.0, 10.0]


def with_retries(task: TaskT, **options: Any) -> TaskT:
    """`task` with the configured retry budget (read when the flow runs), plus `options`."""
    settings = get_settings()
    configured = task.with_options(
        retries=settings.task_retries,
        retry_delay_seconds=list(settings.task_retry_delays),
        **options,
    )
    return cast(TaskT, configured)


def database_url() -> str:
    return get_settings().resolved_database_url


def run_ids() -> RunIds:
    return RunIds(
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        task_run_id=str(task_run.id) if task_run.id else None,
    )


def text_generator(model_version_id: int | None = None) -> TextGenerator:
    """The configured model, with the batch's tuned version on it (verified) if any;
    cached per process by the backend."""
    return version_generator(get_settings(), model_version_id)


def image_generator() -> ImageGenerator:
    generator = create_image_generator(get_settings())  # the pipeline loads once per process
    if generator is None:
        raise ConfigurationError(NO_IMAGE_MODEL)
    return generator


def object_store() -> ObjectStore:
    return create_store(get_settings())
