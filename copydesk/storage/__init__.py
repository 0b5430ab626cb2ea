"""Object storage: one Protocol (`base`), a local-folder store (`local`) and an S3 store
(`s3`, through the `minio` client), chosen by the settings (`create_store`)."""

from __future__ import annotations

from copydesk.settings import Settings
from copydesk.storage.base import (
    KEY_ROOTS,
    NewObject,
    ObjectStore,
    StoredObject,
    item_key,
    model_key,
    names_its_content,
    published_key,
    same_or_conflict,
    validate_key,
    validate_prefix,
)
from copydesk.storage.local import LocalStore

__all__ = [
    "KEY_ROOTS",
    "LocalStore",
    "NewObject",
    "ObjectStore",
    "StoredObject",
    "create_store",
    "item_key",
    "model_key",
    "names_its_content",
    "published_key",
    "same_or_conflict",
    "validate_key",
    "validate_prefix",
]


def create_store(settings: Settings) -> ObjectStore:
    """The object store the settings name."""
    if settings.store == "local":
        return LocalStore(settings.resolved_store_path)
    from copydesk.storage.s3 import S3Store  # imports minio: only when S3 is used

    return S3Store.from_settings(settings)
