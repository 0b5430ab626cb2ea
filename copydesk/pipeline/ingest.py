"""The ingest stage: stream a batch's source into items, one transaction per chunk of rows
(bad rows become quarantined items with their reason; `copydesk.inputs` reads them)."""

from __future__ import annotations

from contextlib import closing
from itertools import islice

from copydesk.chunking import chunked
from copydesk.content.types import load_content_type
from copydesk.inputs.sources import ingest_source, parse_source
from copydesk.pipeline.types import StageCounts
from copydesk.storage import ObjectStore
from db import repository as repo
from db.models import (
    Batch,
    ItemStatus,
)
from db.session import session_scope


def ingest_batch(
    url: str,
    batch_id: int,
    *,
    limit: int | None = None,
    chunk_size: int = 500,
    store: ObjectStore | None = None,
) -> StageCounts:
    """Stream the batch's source (a file, or input files in `store`) into items, one
    transaction per chunk of rows."""
    with session_scope(url, readonly=True) as session:
        batch = session.get_one(Batch, batch_id)
        content_type, source = load_content_type(batch.content_type), parse_source(batch.source)
    counts = StageCounts()
    with closing(ingest_source(source, content_type, store)) as rows:
        for chunk in chunked(islice(rows, limit), chunk_size):
            with session_scope(url) as session:
                inserted = repo.add_items(session=session, batch_id=batch_id, items=chunk)
            counts.done += inserted
            counts.skipped += len(chunk) - inserted
            counts.failed += sum(1 for item in chunk if item.status == ItemStatus.QUARANTINED)
    return counts
