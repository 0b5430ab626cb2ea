"""The text generator a batch writes with: the configured base model, or a tuned model
version on it (its artifact fetched from the object store and verified first).

A version only runs on the base model it was tuned from: the configured text model
must be that model (same weights digest), and the backend the local transformers one.
"""

from __future__ import annotations

from typing import Literal, cast

from copydesk.errors import ConfigurationError
from copydesk.generation.adapters import Adapter
from copydesk.generation.backends import create_text_generator
from copydesk.generation.base import TextGenerator
from copydesk.settings import Settings
from copydesk.storage import ObjectStore, create_store
from copydesk.tuning.versions import VersionInfo, fetch_artifact, get_version


def version_generator(
    settings: Settings, version_id: int | None, store: ObjectStore | None = None
) -> TextGenerator:
    """The configured generator, with model version `version_id` on it (if given)."""
    if version_id is None:
        return create_text_generator(settings)
    version = get_version(settings.resolved_database_url, version_id)
    return adapted_generator(settings, version, store or create_store(settings))


def adapted_generator(
    settings: Settings, version: VersionInfo, store: ObjectStore
) -> TextGenerator:
    if settings.text_backend != "transformers":
        raise ConfigurationError(
            f"model version {version.name!r} runs on the transformers backend "
            f"(COPYDESK_TEXT_BACKEND is {settings.text_backend!r}): use `--model-version base`"
        )
    folder = fetch_artifact(store, version, settings.resolved_model_cache / "versions")
    adapter = Adapter(
        folder,
        version.artifact_sha256,
        cast(Literal["lora", "full"], version.method),
        model_version_id=version.id,
    )
    generator = create_text_generator(settings, adapter)
    base = generator.identity.revision
    if version.base_model_revision is not None and base != version.base_model_revision:
        raise ConfigurationError(
            f"model version {version.name!r} was tuned from {version.base_model_id} "
            f"({version.base_model_revision}), and COPYDESK_TEXT_MODEL is another model "
            f"({generator.identity.model_id}, {base}): set it to that base model"
        )
    return generator
