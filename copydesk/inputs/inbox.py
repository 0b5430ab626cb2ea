"""A schedule's inbox: the input files it finds, and which of them are new.

Each file is known by (schedule, source, sha256): a file already made into a batch is not
taken again, while a changed file under the same name (new sha256) is new. A run claims a
file in the database before its batch starts, in the same transaction that creates the
batch, so two runs never both take it. A claim whose run finished without finishing it
(crashed, failed, cancelled; the caller decides, from Prefect) can be taken again: the
new run resumes the claim's batch, so nothing is ingested twice. A file whose batch run
failed is retried by the next runs, up to MAX_FILE_ATTEMPTS in all.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from copydesk.errors import ConfigurationError
from copydesk.hashing import sha256_file
from copydesk.inputs.readers import SUPPORTED_SUFFIXES
from copydesk.inputs.schedules import Schedule
from copydesk.inputs.sources import STORE_SCHEME, StoreSource, parse_source
from copydesk.storage import ObjectStore, StoredObject
from db import repository as repo
from db.models import BatchStatus, InboxFile, InboxFileStatus
from db.session import session_scope

MAX_FILE_ATTEMPTS = 3
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoundFile:
    source: str  # an absolute path, or store:KEY
    size: int
    sha256: str


@dataclass(frozen=True)
class Claim:
    inbox_file_id: int
    batch_id: int
    attempt: int
    resumed: bool  # the batch existed: an earlier run started it


def list_inbox(schedule: Schedule, store: ObjectStore | None = None) -> list[FoundFile]:
    """The schedule's input files (.csv, .jsonl, .json, ...), sorted, each with its sha256.

    Hidden files and other suffixes are skipped, so a writer can drop `.x.csv.part` and
    rename it when complete. `store` is needed for a `store:` input."""
    if schedule.is_store:
        if store is None:
            raise ConfigurationError(f"schedule {schedule.name!r} reads the object store: give one")
        return _list_store(schedule, store)
    folder, pattern = schedule.local_input()
    if not folder.is_dir():
        raise ConfigurationError(
            f"schedule {schedule.name!r}: input folder {folder} does not exist"
        )
    paths = folder.glob(pattern) if pattern else folder.iterdir()
    found = []
    for path in sorted(paths):
        if path.is_file() and _is_input(path.relative_to(folder).as_posix()):
            found.append(FoundFile(str(path.resolve()), path.stat().st_size, sha256_file(path)))
    return found


def _is_input(name: str) -> bool:
    hidden = any(part.startswith(".") for part in name.split("/"))
    return not hidden and PurePosixPath(name).suffix.lower() in SUPPORTED_SUFFIXES


def _list_store(schedule: Schedule, store: ObjectStore) -> list[FoundFile]:
    source = parse_source(schedule.input)
    if not isinstance(source, StoreSource):  # the caller checked: a store input
        raise TypeError(f"schedule {schedule.name!r}: {schedule.input} is not a store prefix")
    single = None if source.prefix.endswith("/") else store.stat(source.prefix)
    objects = [single] if single else store.list(source.prefix.rstrip("/") + "/")
    return [
        FoundFile(f"{STORE_SCHEME}{obj.key}", obj.size, obj.sha256 or _download_sha256(store, obj))
        for obj in sorted(objects, key=lambda obj: obj.key)
        if _is_input(obj.key)
    ]


def _download_sha256(store: ObjectStore, obj: StoredObject) -> str:
    """The digest of an object put by another tool (it has none): stream it to a file."""
    with tempfile.TemporaryDirectory(prefix="copydesk-inbox-") as folder:
        path = Path(folder) / "object"
        store.download(obj.key, path)
        return sha256_file(path)


def _row(session: Session, schedule: str, file: FoundFile) -> InboxFile | None:
    return session.scalars(
        select(InboxFile).where(
            InboxFile.schedule == schedule,
            InboxFile.source == file.source,
            InboxFile.sha256 == file.sha256,
        )
    ).first()


def pending_files(url: str, schedule: str, files: list[FoundFile]) -> list[FoundFile]:
    """The files a run may try to claim: new ones, failed ones with attempts left, and
    claimed ones (their claim may have crashed; `claim_file` decides)."""
    with session_scope(url, readonly=True) as session:
        rows = session.scalars(select(InboxFile).where(InboxFile.schedule == schedule)).all()
    known = {(row.source, row.sha256): row for row in rows}
    return [file for file in files if _may_claim(known.get((file.source, file.sha256)))]


def _may_claim(row: InboxFile | None) -> bool:
    if row is None or row.status == InboxFileStatus.CLAIMED:
        return True
    return row.status == InboxFileStatus.FAILED and row.attempts < MAX_FILE_ATTEMPTS


def current_claimer(url: str, schedule: str, file: FoundFile) -> str | None:
    """The flow run holding a claim on the file now (None: no claim held)."""
    with session_scope(url, readonly=True) as session:
        row = _row(session, schedule, file)
        return row.claimed_by if row and row.status == InboxFileStatus.CLAIMED else None


def held_elsewhere(
    url: str, schedule: str, files: list[FoundFile], claimer: str
) -> list[tuple[str, str]]:
    """(source, flow run) of each of `files` that another run than `claimer` still holds:
    a run that found a file claimed by a live run left it to that run."""
    sources = {file.source: file.sha256 for file in files}
    if not sources:
        return []
    with session_scope(url, readonly=True) as session:
        rows = session.scalars(
            select(InboxFile).where(
                InboxFile.schedule == schedule,
                InboxFile.source.in_(sources),
                InboxFile.status == InboxFileStatus.CLAIMED,
                InboxFile.claimed_by != claimer,
            )
        ).all()
    return sorted(
        (row.source, row.claimed_by or "?") for row in rows if sources[row.source] == row.sha256
    )


def claim_file(
    url: str, schedule: Schedule, file: FoundFile, *, claimer: str, stale_claimer: str | None = None
) -> Claim | None:
    """Claim the file for the flow run `claimer` and make sure it has a batch; None when
    another run holds it, or it is done or given up.

    A held claim is taken over only from `stale_claimer` (the caller found that run
    finished) or from `claimer` itself (a retry of the same run). The takeover is one
    conditional UPDATE, so of two runs that found the same stale claim only one wins."""
    with session_scope(url) as session:
        row = _row(session, schedule.name, file)
        if row is None:
            try:
                with session.begin_nested():
                    row = InboxFile(
                        schedule=schedule.name,
                        source=file.source,
                        size=file.size,
                        sha256=file.sha256,
                        claimed_by=claimer,
                    )
                    session.add(row)
            except IntegrityError:  # another run inserted it first: it holds the claim
                return None
        elif not _take_over(session, row, claimer, stale_claimer):
            return None
        resumed = row.batch_id is not None
        if row.batch_id is None:
            row.batch_id = _start_batch(session, schedule, file)
        return Claim(row.id, row.batch_id, row.attempts, resumed)


def _take_over(session: Session, row: InboxFile, claimer: str, stale: str | None) -> bool:
    holders = [claimer] if stale is None else [claimer, stale]
    statement = (
        update(InboxFile)
        .where(
            InboxFile.id == row.id,
            or_(
                and_(
                    InboxFile.status == InboxFileStatus.FAILED,
                    InboxFile.attempts < MAX_FILE_ATTEMPTS,
                ),
                and_(
                    InboxFile.status == InboxFileStatus.CLAIMED,
                    InboxFile.claimed_by.in_(holders),
                ),
            ),
        )
        .values(
            status=InboxFileStatus.CLAIMED,
            claimed_by=claimer,
            attempts=InboxFile.attempts + case((InboxFile.claimed_by == claimer, 0), else_=1),
            error=None,
            updated_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    if result.rowcount != 1:
        return False
    session.refresh(row)
    return True


def _start_batch(session: Session, schedule: Schedule, file: FoundFile) -> int:
    options = schedule.options
    name = f"{schedule.name}: {PurePosixPath(file.source).name}"[:200]
    batch = repo.create_batch(
        session=session,
        content_type=schedule.content_type,
        source=file.source,
        name=name,
        source_sha256=file.sha256,
        options={
            "limit": options.limit,
            "chunk_size": options.chunk_size,
            "images": options.images,
            **options.generation(),
            "schedule": schedule.name,
        },
    )
    batch.status, batch.started_at = BatchStatus.RUNNING, datetime.now(UTC)
    return batch.id


def finish_file(url: str, inbox_file_id: int, claimer: str, error: str | None = None) -> bool:
    """Mark a claimed file done (or failed, with `error`); False if `claimer` lost the claim."""
    with session_scope(url) as session:
        row = session.get_one(InboxFile, inbox_file_id)
        if row.status != InboxFileStatus.CLAIMED or row.claimed_by != claimer:
            logger.warning("%s: claim lost to flow run %s", row.source, row.claimed_by)
            return False
        row.status = InboxFileStatus.DONE if error is None else InboxFileStatus.FAILED
        row.error = error
        return True
