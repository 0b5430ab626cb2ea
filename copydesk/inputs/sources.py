"""Where a batch's input comes from: a local file, or input files in the object store.

    products.csv                      a local file (CSV, JSONL or JSON array)
    store:inbox/products/             every input file under a prefix of the object store
    store:inbox/products/a.csv        one object
    s3://BUCKET/inbox/products/       the same, when BUCKET is the configured bucket

A prefix selects the objects under it whose names end in an input format's suffix
(.csv, .tsv, .jsonl, .ndjson, .json), sorted by key; others are skipped with a warning.
Each object is streamed to a temporary file, ingested, and deleted before the next one,
so memory and disk hold one file at a time. Items and quarantine messages name the
object (`store:inbox/products/a.csv:3: price: ...`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from copydesk.content.types import ContentType
from copydesk.errors import ConfigurationError
from copydesk.inputs.readers import SUPPORTED_SUFFIXES, IngestError, ingest_rows
from copydesk.settings import Settings, get_settings
from copydesk.storage import ObjectStore, create_store, validate_prefix
from db.repository import NewItem

STORE_SCHEME = "store:"
S3_SCHEME = "s3://"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalSource:
    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class StoreSource:
    """An object key, or a prefix (ending in `/`) of the configured object store."""

    prefix: str

    def __str__(self) -> str:
        return f"{STORE_SCHEME}{self.prefix}"

    def name(self, key: str) -> str:
        """How items and errors name one of its objects."""
        return f"{STORE_SCHEME}{key}"


Source = LocalSource | StoreSource


@dataclass(frozen=True)
class SourceListing:
    keys: tuple[str, ...]  # the input files, sorted
    skipped: tuple[str, ...]  # objects that are not input files


def is_store_source(text: str) -> bool:
    return text.startswith((STORE_SCHEME, S3_SCHEME))


def parse_source(text: str, settings: Settings | None = None) -> Source:
    """`store:PREFIX` or `s3://BUCKET/PREFIX` → StoreSource; anything else a local path."""
    if not is_store_source(text):
        return LocalSource(Path(text))
    if text.startswith(STORE_SCHEME):
        prefix = text[len(STORE_SCHEME) :]
    else:
        bucket, _, prefix = text[len(S3_SCHEME) :].partition("/")
        _check_bucket(text, bucket, settings or get_settings())
    if not prefix.strip("/"):
        raise ConfigurationError(f"{text!r} names no prefix; give one, e.g. store:inbox/products/")
    try:
        return StoreSource(validate_prefix(prefix))
    except ValueError as exc:
        raise ConfigurationError(f"{text}: {exc}") from None


def _check_bucket(text: str, bucket: str, settings: Settings) -> None:
    if settings.store != "s3":
        raise ConfigurationError(
            f"{text} names bucket {bucket!r}, but the object store is the local folder "
            f"{settings.resolved_store_path}; use store:PREFIX, or set COPYDESK_STORE=s3"
        )
    if bucket != settings.s3_bucket:
        raise ConfigurationError(
            f"{text} names bucket {bucket!r}, but Copydesk reads and writes bucket "
            f"{settings.s3_bucket!r} (COPYDESK_S3_BUCKET); copy the input there"
        )


def list_source(source: StoreSource, store: ObjectStore) -> SourceListing:
    """The input files a store source names; an error if there are none."""
    single = None if source.prefix.endswith("/") else store.stat(source.prefix)
    if single is not None:
        keys = [single.key]
    else:  # `inbox/products` without an object of that name: the folder
        keys = [obj.key for obj in store.list(source.prefix.rstrip("/") + "/")]
    inputs = sorted(key for key in keys if PurePosixPath(key).suffix.lower() in SUPPORTED_SUFFIXES)
    skipped = tuple(sorted(set(keys) - set(inputs)))
    if not inputs:
        found = f"only {', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''}"
        raise IngestError(
            f"{source}: no input files ({', '.join(SUPPORTED_SUFFIXES)}) in "
            f"{store.description}{f'; found {found}' if skipped else ''}"
        )
    return SourceListing(tuple(inputs), skipped)


def iter_store_files(
    source: StoreSource, store: ObjectStore
) -> Generator[tuple[str, Path], None, None]:
    """(key, local copy) per input file, in key order.

    Each object is streamed to a temporary file that is deleted when the next one is
    asked for, or when the generator is closed (use `contextlib.closing`).
    """
    listing = list_source(source, store)
    for key in listing.skipped:
        logger.warning("%s: skipped %s: not an input file", source, key)
    with tempfile.TemporaryDirectory(prefix="copydesk-input-") as folder:
        for key in listing.keys:
            path = Path(folder) / PurePosixPath(key).name  # the suffix picks the reader
            try:
                store.download(key, path)
                yield key, path
            finally:
                path.unlink(missing_ok=True)


def ingest_source(
    source: Source, content_type: ContentType, store: ObjectStore | None = None
) -> Generator[NewItem, None, None]:
    """Items of every row of the source's files, in order (see `ingest.ingest_rows`).

    `store` is needed only for a store source (default: the configured one). Close the
    generator when stopping early, so the temporary file goes at once."""
    if isinstance(source, LocalSource):
        yield from ingest_rows(source.path, content_type)
        return
    store = store or create_store(get_settings())
    with closing(iter_store_files(source, store)) as files:
        for key, path in files:
            yield from ingest_rows(path, content_type, source=source.name(key))


def describe_source(text: str) -> str:
    """A short name for a run: a local file's name, or the store address as given."""
    return text if is_store_source(text) else Path(text).name
