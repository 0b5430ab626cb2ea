"""Manifests of what `publish_approved` published: one JSON per content type and run,
`published/{content_type}/manifests/{time}-{first publication id}.json`, built from the
publication rows only (so a redo gives the same key and bytes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from copydesk.chunking import chunked
from copydesk.errors import ObjectConflictError
from copydesk.hashing import sha256_bytes
from copydesk.storage import ObjectStore, validate_key
from db.models import Editor, Item, Publication, Review
from db.session import session_scope

_ID_CHUNK = 1000  # ids per IN (...) list


def _unlisted(query: Select[Any], batch_id: int | None) -> Select[Any]:
    """Publications in no manifest yet (of the batch's items, when given)."""
    query = query.where(Publication.manifest_key.is_(None))
    if batch_id is not None:
        query = query.where(
            Publication.item_id.in_(select(Item.id).where(Item.batch_id == batch_id))
        )
    return query


def unlisted_content_types(url: str, batch_id: int | None) -> list[str]:
    query = _unlisted(select(Publication.content_type).distinct(), batch_id)
    with session_scope(url, readonly=True) as session:
        return sorted(session.scalars(query))


def write_manifest(
    url: str, store: ObjectStore, content_type: str, batch_id: int | None
) -> str | None:
    """Put the manifest of the content type's unlisted publications; point them at it."""
    with session_scope(url, readonly=True) as session:
        manifest, publication_ids, first = _manifest(session, content_type, batch_id)
    if first is None:
        return None
    data = (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
    first_id, first_at = first
    stamp = first_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    key = validate_key(f"published/{content_type}/manifests/{stamp}-{first_id}.json")
    try:
        store.put(key, data, "application/json")
    except ObjectConflictError:  # a crashed run listed another set under the same name
        key = key.removesuffix(".json") + f"-{sha256_bytes(data)[7:19]}.json"
        store.put(key, data, "application/json")
    with session_scope(url) as session:
        for part in parts(publication_ids):
            session.execute(
                update(Publication)
                .where(Publication.id.in_(part), Publication.manifest_key.is_(None))
                .values(manifest_key=key)
            )
    return key


def _manifest(
    session: Session, content_type: str, batch_id: int | None
) -> tuple[dict[str, Any], list[int], tuple[int, datetime] | None]:
    """The manifest's content (from the rows only, so a redo gives the same bytes), the
    publications it lists, and the id and time of the first of them."""
    query = _unlisted(
        select(
            Publication.id,
            Publication.item_id,
            Publication.slug,
            Publication.revision_id,
            Publication.review_id,
            Publication.format,
            Publication.object_key,
            Publication.sha256,
            Publication.created_at,
            Item.batch_id,
            Item.source,
            Item.row_number,
            Item.input_sha256,
            Review.created_at,
            Editor.name,
        )
        .join(Item, Item.id == Publication.item_id)
        .outerjoin(Review, Review.id == Publication.review_id)
        .outerjoin(Editor, Editor.id == Review.editor_id)
        .where(Publication.content_type == content_type)
        .order_by(Publication.item_id, Publication.id),
        batch_id,
    )
    entries: dict[int, dict[str, Any]] = {}
    ids: list[int] = []
    first: tuple[int, datetime] | None = None
    for row in session.execute(query.execution_options(yield_per=1000)):
        (publication_id, item_id, slug, revision_id, review_id, fmt, key, sha256) = row[:8]
        published_at = row[8]
        ids.append(publication_id)
        if first is None or publication_id < first[0]:
            first = (publication_id, published_at)
        batch, source, row_number, input_sha256, approved_at, approved_by = row[9:]
        entry = entries.get(item_id)
        if entry is None:
            entry = entries[item_id] = {
                "item_id": item_id,
                "batch_id": batch,
                "slug": slug,
                "revision_id": revision_id,
                "review_id": review_id,
                "approved_by": approved_by,
                "approved_at": approved_at.isoformat() if approved_at else None,
                "published_at": published_at.isoformat(),
                "source": source,
                "row_number": row_number,
                "input_sha256": input_sha256,
                "objects": {},
            }
        entry["objects"][fmt] = {"key": key, "sha256": sha256}
    manifest = {
        "content_type": content_type,
        "items": list(entries.values()),
        "item_count": len(entries),
        "document_count": len(ids),
    }
    return manifest, ids, first


def parts(values: Sequence[Any]) -> list[Sequence[Any]]:
    return list(chunked(values, _ID_CHUNK))


def summary_markdown(result: dict[str, Any], batch_id: int | None = None) -> str:
    """A short Markdown report of a publish run (a `PublishResult.as_dict()`)."""
    scope = f"batch {batch_id}" if batch_id is not None else "all batches"
    lines = [
        f"# Published: {scope}",
        "",
        f"- items published: **{result['items']}** ({result['documents']} documents)",
    ]
    for content_type, key in sorted(result["manifests"].items()):
        lines.append(f"- manifest ({content_type}): `{key}`")
    if not result["manifests"]:
        lines.append("- no manifest: nothing new was published")
    skipped = result.get("skipped") or {}
    if skipped:
        lines += ["", f"## Skipped ({len(skipped)}, still approved)", ""]
        ordered = sorted(skipped.items(), key=lambda pair: int(pair[0]))[:50]
        lines += [f"- item {item_id}: {why}" for item_id, why in ordered]
    return "\n".join(lines) + "\n"
