"""Publishing: approved items' documents copied to `published/{content_type}/{slug}.{ext}`.

For every item in status `approved` (of one batch, or all), the revision its latest
`approve` review decided on is published: each document its revision stored (Markdown,
HTML, JSON: whatever `revision.outputs` holds) is read, checked against its recorded
sha256 and put under the item's published key; a `Publication` row per (revision,
format) records it, and the item becomes `published`. Each content type a run published
gets one manifest, `published/{content_type}/manifests/{time}-{first publication id}.json`,
listing every item with its lineage.

Safe to redo at any point. Items go in chunks: reads in one short read-only transaction,
the object copies with no transaction open (the same bytes put again are a no-op), then
the rows and statuses in one short write. A manifest covers every publication that has
none yet, and its key and bytes follow from those rows: a run that crashed after its
copies, after its rows, or after its manifest is completed by the next run, and a run
with nothing to do writes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from copydesk.desk.publish_manifest import parts, unlisted_content_types, write_manifest
from copydesk.desk.review_queue import label_of
from copydesk.errors import CopydeskError, ObjectConflictError, StorageError
from copydesk.hashing import sha256_bytes
from copydesk.storage import ObjectStore, published_key
from db.models import (
    Batch,
    Decision,
    Item,
    ItemStatus,
    Publication,
    Review,
    Revision,
    utcnow,
)
from db.session import session_scope

CHUNK_SIZE = 200  # items per transaction
SLUG_MAX = 80
EXTENSIONS = {"markdown": "md", "html": "html", "json": "json"}
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


class PublishError(CopydeskError):
    """An item that cannot be published as it is (it stays approved)."""


@dataclass
class PublishResult:
    items: int = 0  # items this run published
    documents: int = 0  # publications (documents) this run recorded
    manifests: dict[str, str] = field(default_factory=dict)  # content type -> manifest key
    skipped: dict[int, str] = field(default_factory=dict)  # item id -> why it stayed approved

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (string keys), for a Prefect task's result."""
        return {
            "items": self.items,
            "documents": self.documents,
            "manifests": dict(self.manifests),
            "skipped": {str(item_id): why for item_id, why in self.skipped.items()},
        }


@dataclass(frozen=True)
class _Approved:
    """What publishing one item needs, read before any object is copied."""

    item_id: int
    content_type: str
    label: str
    review_id: int
    revision_id: int | None
    outputs: dict[str, dict[str, str]]  # format -> {key, sha256}


@dataclass(frozen=True)
class _Copied:
    approved: _Approved
    slug: str
    objects: dict[str, dict[str, str]]  # format -> {key, sha256} under published/


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """A URL-safe slug: ASCII, lowercase, words joined by `-`, at most `max_length`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def item_slugs(label: str, item_id: int) -> tuple[str, str]:
    """The slug an item is published under, and the one it takes when that is taken."""
    suffix = f"-{item_id}"
    base = slugify(label)
    if not base:
        return f"item{suffix}", f"item{suffix}"
    return base, f"{base[: SLUG_MAX - len(suffix)].rstrip('-')}{suffix}"


def publish_approved(
    url: str,
    store: ObjectStore,
    *,
    batch_id: int | None = None,
    flow_run_id: str | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> PublishResult:
    """Publish every approved item (of `batch_id`, or of all batches); see the module doc.

    An item that cannot be published (no approved revision, a document missing from the
    store or not matching its recorded sha256, its slugs taken) stays approved and is
    named in `skipped`; a store or database that cannot be reached raises.
    """
    result = PublishResult()
    after = 0
    while chunk := _approved_chunk(url, batch_id, after, chunk_size):
        after = chunk[-1].item_id
        owners = _key_owners(url, chunk)
        copied = []
        for approved in chunk:
            try:
                copied.append(_copy(store, approved, owners))
            except PublishError as exc:
                result.skipped[approved.item_id] = str(exc)
        items, documents = _record(url, copied, flow_run_id)
        result.items += items
        result.documents += documents
    for content_type in unlisted_content_types(url, batch_id):
        key = write_manifest(url, store, content_type, batch_id)
        if key is not None:
            result.manifests[content_type] = key
    return result


def _approved_chunk(url: str, batch_id: int | None, after: int, size: int) -> list[_Approved]:
    """The next `size` approved items after id `after`, with their approved revisions."""
    query = (
        select(Item.id, Item.input_record, Batch.content_type)
        .join(Batch, Batch.id == Item.batch_id)
        .where(Item.status == ItemStatus.APPROVED, Item.id > after)
        .order_by(Item.id)
        .limit(size)
    )
    if batch_id is not None:
        query = query.where(Item.batch_id == batch_id)
    with session_scope(url, readonly=True) as session:
        rows = session.execute(query).tuples().all()
        ids = [item_id for item_id, _, _ in rows]
        approvals: dict[int, tuple[int, int | None]] = {}
        reviews = (
            select(Review.item_id, Review.id, Review.revision_id)
            .where(Review.item_id.in_(ids), Review.decision == Decision.APPROVE)
            .order_by(Review.id)
        )
        for item_id, review_id, revision_id in session.execute(reviews).tuples():
            approvals[item_id] = (review_id, revision_id)  # the latest wins
        revision_ids = [rev for _, rev in approvals.values() if rev is not None]
        outputs = dict(
            session.execute(
                select(Revision.id, Revision.outputs).where(Revision.id.in_(revision_ids))
            )
            .tuples()
            .all()
        )
    chunk = []
    for item_id, record, content_type in rows:
        review_id, revision_id = approvals.get(item_id, (0, None))
        chunk.append(
            _Approved(
                item_id,
                content_type,
                label_of(content_type, record),
                review_id,
                revision_id,
                dict(outputs.get(revision_id, {})) if revision_id is not None else {},
            )
        )
    return chunk


def _published_keys(approved: _Approved, slug: str) -> dict[str, str]:
    return {
        fmt: published_key(approved.content_type, slug, _extension(fmt, output["key"]))
        for fmt, output in approved.outputs.items()
    }


def _extension(fmt: str, source_key: str) -> str:
    return EXTENSIONS.get(fmt) or source_key.rsplit(".", 1)[-1]


def _key_owners(url: str, chunk: Sequence[_Approved]) -> dict[str, int]:
    """Which item an earlier publication put under each key the chunk's items may take."""
    keys = [
        key
        for approved in chunk
        for slug in item_slugs(approved.label, approved.item_id)
        for key in _published_keys(approved, slug).values()
    ]
    owners: dict[str, int] = {}
    with session_scope(url, readonly=True) as session:
        for part in parts(keys):
            query = select(Publication.object_key, Publication.item_id).where(
                Publication.object_key.in_(part)
            )
            owners.update(session.execute(query).tuples().all())
    return owners


def _copy(store: ObjectStore, approved: _Approved, owners: dict[str, int]) -> _Copied:
    """Read the approved documents, pick the slug, put them under published/ (no
    transaction open). `owners` gains the keys taken, so later items of the run see them."""
    if approved.revision_id is None:
        raise PublishError(f"item {approved.item_id}: its approval names no revision")
    if not approved.outputs:
        raise PublishError(
            f"item {approved.item_id}: revision {approved.revision_id} has no stored documents"
        )
    documents = {fmt: _read(store, approved, output) for fmt, output in approved.outputs.items()}
    slug = _choose_slug(store, approved, owners)
    objects = {}
    for fmt, key in _published_keys(approved, slug).items():
        data = documents[fmt]
        media_type = MEDIA_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")
        try:
            stored = store.put(key, data, media_type)
        except ObjectConflictError as exc:  # another writer took the key meanwhile
            raise PublishError(f"item {approved.item_id}: {exc}") from None
        objects[fmt] = {"key": stored.key, "sha256": stored.sha256}
        owners[key] = approved.item_id
    return _Copied(approved, slug, objects)


def _read(store: ObjectStore, approved: _Approved, output: dict[str, str]) -> bytes:
    key = output["key"]
    try:
        data = store.get(key)
    except StorageError:
        if store.stat(key) is None:  # missing for good, not a store that is down
            raise PublishError(
                f"item {approved.item_id}: no document {key!r} in the store"
            ) from None
        raise
    if sha256_bytes(data) != output["sha256"]:
        raise PublishError(
            f"item {approved.item_id}: {key!r} does not match its recorded {output['sha256']}"
        )
    return data


def _choose_slug(store: ObjectStore, approved: _Approved, owners: dict[str, int]) -> str:
    """The item's slug, or `{slug}-{item id}` when a key of the first holds another
    item's document (a publication of another item, or other bytes in the store)."""
    slugs = item_slugs(approved.label, approved.item_id)
    for slug in dict.fromkeys(slugs):
        keys = _published_keys(approved, slug)
        if all(
            owners.get(key, approved.item_id) == approved.item_id
            and _holds_nothing_else(store, key, approved.outputs[fmt]["sha256"])
            for fmt, key in keys.items()
        ):
            return slug
    raise PublishError(
        f"item {approved.item_id}: published keys for {' and '.join(slugs)} all hold other "
        "documents"
    )


def _holds_nothing_else(store: ObjectStore, key: str, sha256: str) -> bool:
    existing = store.stat(key)
    return existing is None or existing.sha256 == sha256


def _record(url: str, copied: Sequence[_Copied], flow_run_id: str | None) -> tuple[int, int]:
    """Publication rows and status `published` for the copied items still approved (a
    concurrent run may have published some). Returns (items, publications) written."""
    if not copied:
        return 0, 0
    items = documents = 0
    with session_scope(url) as session:
        ids = [c.approved.item_id for c in copied]
        query = select(Item).where(Item.id.in_(ids), Item.status == ItemStatus.APPROVED)
        approved = {item.id: item for item in session.scalars(query.with_for_update())}
        revision_ids = [c.approved.revision_id for c in copied]
        existing = set(
            session.execute(
                select(Publication.revision_id, Publication.format).where(
                    Publication.revision_id.in_(revision_ids)
                )
            ).tuples()
        )
        for c in copied:
            item = approved.get(c.approved.item_id)
            revision_id = c.approved.revision_id
            if item is None or revision_id is None:
                continue
            for fmt, obj in c.objects.items():
                if (revision_id, fmt) in existing:
                    continue
                session.add(_publication(c, revision_id, fmt, obj, flow_run_id))
                documents += 1
            item.status, item.updated_at = ItemStatus.PUBLISHED, utcnow()
            items += 1
    return items, documents


def _publication(
    copied: _Copied, revision_id: int, fmt: str, obj: dict[str, str], flow_run_id: str | None
) -> Publication:
    approved = copied.approved
    return Publication(
        item_id=approved.item_id,
        revision_id=revision_id,
        review_id=approved.review_id or None,
        content_type=approved.content_type,
        slug=copied.slug,
        format=fmt,
        object_key=obj["key"],
        sha256=obj["sha256"],
        prefect_flow_run_id=flow_run_id,
    )
