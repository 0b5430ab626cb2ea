"""Object storage: the Protocol every store implements, the key layout, and the rules
both stores share.

    batches/{batch_id}/items/{item_id}/{name}     per-item outputs and images
    published/{content_type}/{slug}.{ext}         approved, published documents
    exports/{name}                                datasets and reports
    doctor/{name}                                 `copydesk doctor`'s write probe
    inbox/{any/path}.{csv,jsonl,json}             input files users drop for batches
    models/{version}/{sha256 hex}/{file}          tuned adapters (or models), immutable

Objects are immutable: putting different bytes under an existing key is refused
(`same_or_conflict`), putting the same bytes again is a no-op (so a resumed batch can
re-put safely). A key whose file name starts with its content's digest
(`names_its_content`: the pipeline's documents) cannot name other bytes, so the S3 store
puts it without looking first. Every object Copydesk puts carries its content type and its
`sha256:` digest as metadata; an object put by another tool (a file copied into `inbox/`)
has an empty digest. `download` streams an object to a local file, so a large input never
sits in memory.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

from copydesk.errors import InvalidKeyError, ObjectConflictError
from copydesk.hashing import sha256_bytes

KEY_ROOTS = ("batches", "published", "exports", "doctor", "inbox", "models")


MAX_KEY_LENGTH = 1024


_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str

    @classmethod
    def of(cls, key: str, data: bytes, content_type: str) -> StoredObject:
        """The metadata of `data` stored under `key`."""
        return cls(key, len(data), sha256_bytes(data), content_type)


class NewObject(NamedTuple):
    """What `put` takes, for `put_many`."""

    key: str
    data: bytes
    content_type: str


@runtime_checkable
class ObjectStore(Protocol):
    """Where rendered documents, images and exports live."""

    description: str

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject: ...
    def put_many(self, objects: Sequence[NewObject]) -> list[StoredObject]:
        """`put` each of `objects` (in order, or several at a time where the store gains
        by it); the first failure is raised, once no put is under way any more."""
        ...

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


def names_its_content(key: str, sha256: str) -> bool:
    """Whether the key's file name starts with the first 16 hex digits of the object's
    digest and a dot (`{digest[:16]}.md`, as the pipeline names documents): a put under
    that name carries those bytes (short of a 64-bit collision), so there is no other
    content to look for before putting it."""
    name, digest = key.rpartition("/")[2], sha256.partition(":")[2]
    return len(digest) >= 16 and name.startswith(f"{digest[:16]}.")


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


def model_key(version: str, sha256: str, name: str = "") -> str:
    """Where a model version's files live: `models/{version}/{hex digest}/{name}` (the
    folder's prefix, ending in `/`, when `name` is empty)."""
    prefix = f"models/{version}/{sha256.partition(':')[2] or sha256}"
    if not name:
        return validate_key(prefix) + "/"
    if "/" in name:
        raise InvalidKeyError(f"invalid object key {prefix}/{name!r}: one segment per file")
    return validate_key(f"{prefix}/{name}")


def guessed_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def same_or_conflict(existing: StoredObject, new: StoredObject, where: str) -> StoredObject:
    if existing.sha256 == new.sha256:
        return existing
    raise ObjectConflictError(
        f"object {new.key!r} already exists in {where} with other content "
        f"({existing.sha256} != {new.sha256}); objects are immutable, use a new key"
    )
