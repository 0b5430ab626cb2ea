"""Object storage: one Protocol, a local-folder store and an S3 (MinIO) store.

Both use the same key layout:

    batches/{batch_id}/items/{item_id}/{name}     per-item outputs and images
    published/{content_type}/{slug}.{ext}         approved, published documents
    exports/{name}                                datasets and reports
    doctor/{name}                                 `copydesk doctor`'s write probe
    inbox/{any/path}.{csv,jsonl,json}             input files users drop for batches

Objects are immutable: putting different bytes under an existing key is refused,
putting the same bytes again is a no-op (so a resumed batch can re-put safely).
Every object Copydesk puts carries its content type and its `sha256:` digest as metadata;
an object put by another tool (a file copied into `inbox/`) has an empty digest.
`download` streams an object to a local file, so a large input never sits in memory.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from copydesk.errors import InvalidKeyError, ObjectConflictError, StorageError
from copydesk.hashing import sha256_bytes
from copydesk.settings import Settings

KEY_ROOTS = ("batches", "published", "exports", "doctor", "inbox")
MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


@runtime_checkable
class ObjectStore(Protocol):
    """Where rendered documents, images and exports live."""

    description: str

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject: ...
    def get(self, key: str) -> bytes: ...
    def download(self, key: str, path: Path) -> int:
        """Write the object to `path` in chunks (memory stays flat); return its size."""
        ...

    def stat(self, key: str) -> StoredObject | None: ...
    def list(self, prefix: str) -> Iterator[StoredObject]: ...
    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str: ...
    def delete(self, key: str) -> None: ...


def validate_key(key: str) -> str:
    """Return `key` if it stays inside the layout; raise InvalidKeyError otherwise.

    Each `/`-separated segment must start with a letter or digit and hold only
    letters, digits, `.`, `_` and `-`; so `..`, `.`, empty segments, absolute
    paths, backslashes and control characters are all refused.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"invalid object key {key!r}: empty or longer than {MAX_KEY_LENGTH}")
    segments = key.split("/")
    if segments[0] not in KEY_ROOTS:
        raise InvalidKeyError(
            f"invalid object key {key!r}: must start with one of {', '.join(KEY_ROOTS)}"
        )
    for segment in segments:
        if not _SEGMENT.match(segment) or segment in {".", ".."}:
            raise InvalidKeyError(
                f"invalid object key {key!r}: segment {segment!r} is not allowed "
                "(letters, digits, '.', '_', '-'; no '..', no empty or absolute parts)"
            )
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: a valid key, optionally ending in `/`."""
    return validate_key(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")


def item_key(batch_id: int, item_id: int, name: str) -> str:
    return validate_key(f"batches/{batch_id}/items/{item_id}/{name}")


def published_key(content_type: str, slug: str, extension: str) -> str:
    key = f"published/{content_type}/{slug}.{extension}"
    if "/" in content_type + slug + extension:  # each one segment: the layout's depth
        raise InvalidKeyError(
            f"invalid object key {key!r}: {content_type!r}, {slug!r} and "
            f"{extension!r} must each be one segment"
        )
    return validate_key(key)


class LocalStore:
    """Objects as files under a root folder; metadata in a sidecar `.meta` tree."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.description = f"local folder {self.root}"

    def _path(self, key: str) -> Path:
        return self._inside(key, self.root / validate_key(key))

    def _meta_path(self, key: str) -> Path:
        return self._inside(key, self.root / ".meta" / f"{validate_key(key)}.json")

    def _inside(self, key: str, path: Path) -> Path:
        """`path`, unless a symbolic link on its way leads out of the root folder."""
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKeyError(
                f"invalid object key {key!r}: a symbolic link in {self.description} leads "
                "outside it"
            )
        return path

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        obj = StoredObject(key, len(data), sha256_bytes(data), content_type)
        existing = self.stat(key)
        if existing is not None:
            return _same_or_conflict(existing, obj, self.description)
        try:
            _write_atomic(self._meta_path(key), json.dumps(obj.__dict__).encode())
            _write_atomic(self._path(key), data)
        except OSError as exc:
            raise StorageError(f"cannot write {key!r} to {self.description}: {exc}") from exc
        return obj

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.description}") from None

    def download(self, key: str, path: Path) -> int:
        source = self._path(key)
        try:
            shutil.copyfile(source, path)  # copies in chunks (sendfile on Linux)
        except FileNotFoundError:
            if not source.is_file():
                raise StorageError(f"no object {key!r} in {self.description}") from None
            raise StorageError(f"cannot write {path} (reading {key!r})") from None
        except OSError as exc:
            raise StorageError(f"cannot copy {key!r} from {self.description}: {exc}") from None
        return path.stat().st_size

    def stat(self, key: str) -> StoredObject | None:
        path, meta = self._path(key), self._meta_path(key)
        if not path.is_file():
            return None
        if not meta.is_file():  # a file dropped in by hand, as an S3 upload by another tool
            content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
            return StoredObject(key, path.stat().st_size, "", content_type)
        return StoredObject(**json.loads(meta.read_text()))

    def list(self, prefix: str) -> Iterator[StoredObject]:
        prefix = validate_prefix(prefix)
        base = self.root / prefix.rstrip("/").rsplit("/", 1)[0] if "/" in prefix else self.root
        files = (path for path in base.rglob("*") if path.is_file()) if base.is_dir() else ()
        keys = sorted(path.relative_to(self.root).as_posix() for path in files)
        for key in keys:
            hidden = any(part.startswith(".") for part in key.split("/"))  # `.tmp-` of a put
            if key.startswith(prefix) and not hidden and (obj := self.stat(key)):
                yield obj  # a name outside the layout fails in stat(), as on S3

    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        return self._path(key).as_uri()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def check_writable(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same_or_conflict(existing: StoredObject, new: StoredObject, where: str) -> StoredObject:
    if existing.sha256 == new.sha256:
        return existing
    raise ObjectConflictError(
        f"object {new.key!r} already exists in {where} with other content "
        f"({existing.sha256} != {new.sha256}); objects are immutable, use a new key"
    )


def create_store(settings: Settings) -> ObjectStore:
    """The object store the settings name."""
    if settings.store == "local":
        return LocalStore(settings.resolved_store_path)
    from copydesk.s3_store import S3Store

    return S3Store.from_settings(settings)
