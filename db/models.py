"""SQLAlchemy models for the lineage described in DESIGN.md.

batch → item → plan → generations → findings → revisions → reviews (by editors),
plus assets (images), the files schedules took from their inboxes, and the model
versions tunes made (with the promotions that choose one per content type). Tables are
plural snake_case, classes singular CamelCase.
The same schema runs on SQLite and PostgreSQL (see `db/migrations`).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only
JsonType = JSON().with_variant(JSONB(), "postgresql")
HASH_LEN = 71  # "sha256:" + 64 hex digits


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class BatchStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ItemStatus(enum.StrEnum):
    INGESTED = "ingested"
    QUARANTINED = "quarantined"
    PLANNED = "planned"
    GENERATED = "generated"
    REFINED = "refined"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    FAILED = "failed"
    # An editor asked for a new attempt with notes; a regeneration run picks it up.
    REGENERATE = "regenerate"


# Items a batch run still has work to do on (everything else is a terminal state for it).
WORK_STATUSES = (ItemStatus.INGESTED, ItemStatus.PLANNED, ItemStatus.GENERATED, ItemStatus.REFINED)


class AuthorKind(enum.StrEnum):
    MODEL = "model"
    REFINER = "refiner"
    EDITOR = "editor"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    REGENERATE = "regenerate"


class Role(enum.StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JsonType, datetime: UTCDateTime()}


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(1024))
    source_sha256: Mapped[str | None] = mapped_column(String(HASH_LEN))
    name: Mapped[str | None] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=BatchStatus.PENDING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    items: Mapped[list[Item]] = relationship(back_populates="batch", passive_deletes=True)


class Item(Base):
    """One input record of a batch, from ingest to publication."""

    __tablename__ = "items"
    __table_args__ = (
        # Re-ingesting the same input into the same batch never duplicates an item.
        UniqueConstraint("batch_id", "input_sha256"),
        Index(None, "batch_id", "status"),
        Index(None, "status", "id"),  # the review queue: one status, in id order, paged
        Index(None, "status", "check_errors", "id"),  # ... with failing checks, worst first
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(1024))
    row_number: Mapped[int]
    input_record: Mapped[dict[str, Any]]
    input_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.INGESTED)
    error: Mapped[str | None] = mapped_column(Text)
    error_field: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)  # optimistic locking for editors
    # 1 for the batch run; +1 for every regeneration an editor asks for.
    generation_round: Mapped[int] = mapped_column(default=1)
    # Error findings on the current text (the review queue filters on it; approval needs 0).
    check_errors: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="items")
    plans: Mapped[list[Plan]] = relationship(back_populates="item", passive_deletes=True)
    generations: Mapped[list[Generation]] = relationship(passive_deletes=True)
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="item", passive_deletes=True, order_by="Revision.id"
    )

    __mapper_args__ = {"version_id_col": version}


class Plan(Base):
    """The rendered outline of one item: sections, prompts, facts, targets."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("item_id", "template_sha256"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    template_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    outline: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="plans")


class Generation(Base):
    """One call of a model for one section of one item: everything needed to redo it."""

    __tablename__ = "generations"
    __table_args__ = (UniqueConstraint("item_id", "section", "attempt", "candidate"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    section: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(default=1)
    # an attempt's candidates: 0 is the greedy one, then seeded samples (manifest `candidates:`)
    candidate: Mapped[int] = mapped_column(default=0, server_default="0")
    generation_round: Mapped[int] = mapped_column(default=1)
    backend: Mapped[str] = mapped_column(String(50))
    model_id: Mapped[str] = mapped_column(String(300))
    model_revision: Mapped[str | None] = mapped_column(String(100))
    decoding: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    prompt: Mapped[str] = mapped_column(Text)
    prompt_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    output: Mapped[str] = mapped_column(Text)
    tokens_in: Mapped[int | None]
    tokens_out: Mapped[int | None]
    finish_reason: Mapped[str | None] = mapped_column(String(20))
    mean_logprob: Mapped[float | None]  # mean token log-probability of the output
    duration_s: Mapped[float | None]
    device: Mapped[str | None] = mapped_column(String(50))
    dtype: Mapped[str | None] = mapped_column(String(20))
    library_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(36))
    prefect_task_run_id: Mapped[str | None] = mapped_column(String(36))
    # the tuned model version that wrote it (None: the base model as configured)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    model_version: Mapped[ModelVersion | None] = relationship()


class Revision(Base):
    """A version of an item's text, by the model, the refiner or an editor."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL")
    )
    author_kind: Mapped[str] = mapped_column(String(10))
    author: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    object_key: Mapped[str | None] = mapped_column(String(1024))
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # format -> {key, sha256}
    sections: Mapped[dict[str, Any]] = mapped_column(default=dict)  # section -> its text
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="revisions")
    parent: Mapped[Revision | None] = relationship(remote_side=[id])


class Finding(Base):
    """What a check found in a generation or revision, at a span of its text."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), index=True
    )
    # The item page reads an editor's revision's findings by it.
    revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", ondelete="CASCADE"), index=True
    )
    # Set on the findings of a section's final text (what the item went to review with).
    refinement_id: Mapped[int | None] = mapped_column(
        ForeignKey("refinements.id", ondelete="CASCADE"), index=True
    )
    section: Mapped[str | None] = mapped_column(String(100))
    check: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(10))
    span_start: Mapped[int | None]
    span_end: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefineDecision(enum.StrEnum):
    PASSED = "passed"  # a model attempt passed every blocking check as it was
    FIXED = "fixed"  # ... after safe automatic fixes (spelling, a/an, repeated words)
    FALLBACK = "fallback"  # no attempt passed; the content type's template realisation did
    FLAGGED = "flagged"  # nothing passed: the best attempt goes to review with its errors


class Refinement(Base):
    """The refine stage's decision for one section of one item, and the text it chose."""

    __tablename__ = "refinements"
    __table_args__ = (UniqueConstraint("item_id", "section", "generation_round"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    section: Mapped[str] = mapped_column(String(100))
    generation_round: Mapped[int] = mapped_column(default=1)
    # The attempt the text came from (None for a fallback realisation).
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL")
    )
    decision: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    fixes: Mapped[list[Any]] = mapped_column(JsonType, default=list)  # applied safe fixes
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # facts, slots, words, lints
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(36))
    prefect_task_run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Asset(Base):
    """A generated image (or other binary) stored in the object store."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="image")
    object_key: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    mime_type: Mapped[str] = mapped_column(String(100))
    width: Mapped[int | None]
    height: Mapped[int | None]
    model_id: Mapped[str | None] = mapped_column(String(300))
    model_revision: Mapped[str | None] = mapped_column(String(100))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Editor(Base):
    __tablename__ = "editors"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(10), default=Role.EDITOR)
    secret_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """An editor's decision on an item (and the revision it was made on)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    editor_id: Mapped[int] = mapped_column(ForeignKey("editors.id"))
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)  # a rejection's reason, regeneration notes
    edit_diff: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    editor: Mapped[Editor] = relationship()


class Publication(Base):
    """An approved revision's document copied to the published prefix."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("revision_id", "format"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    content_type: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20))
    object_key: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    manifest_key: Mapped[str | None] = mapped_column(String(1024))
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxFileStatus(enum.StrEnum):
    CLAIMED = "claimed"  # a run took it and is making (or resuming) its batch
    DONE = "done"  # its batch finished
    FAILED = "failed"  # its batch run failed; the next run resumes it (up to a limit)


class InboxFile(Base):
    """An input file a schedule found in its inbox: claimed before its batch starts, so
    two runs never both take it; a changed file (new sha256) under the same name is new."""

    __tablename__ = "inbox_files"
    __table_args__ = (UniqueConstraint("schedule", "source", "sha256"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    schedule: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(1024))  # an absolute path, or store:KEY
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    status: Mapped[str] = mapped_column(String(20), default=InboxFileStatus.CLAIMED)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id", ondelete="SET NULL"), index=True
    )
    claimed_by: Mapped[str | None] = mapped_column(String(36))  # the Prefect flow run id
    attempts: Mapped[int] = mapped_column(default=1)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TuneMethod(enum.StrEnum):
    LORA = "lora"
    FULL = "full"


class ModelVersion(Base):
    """A tuned model: its base model, the adapter (or model) stored immutably in the object
    store by key and sha256, the data it was trained on, its settings, the libraries, how
    long it took and its evaluation. `name` is what users type: `restaurant-v1`."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(64), index=True)
    base_model_id: Mapped[str] = mapped_column(String(300))
    base_model_revision: Mapped[str | None] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10), default=TuneMethod.LORA)
    artifact_key: Mapped[str] = mapped_column(String(1024))  # the folder's key prefix
    artifact_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    artifact_bytes: Mapped[int] = mapped_column(BigInteger)
    artifact_files: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> sha256
    data_digest: Mapped[str] = mapped_column(String(HASH_LEN))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # counts, source, reviews
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    library_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_s: Mapped[float | None]
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Promotion(Base):
    """A content type's model version from `promoted_at` on: the latest row of a content
    type is its current version (older rows are the history)."""

    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64), index=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="RESTRICT"), index=True
    )
    promoted_by: Mapped[str | None] = mapped_column(String(100))
    forced: Mapped[bool] = mapped_column(default=False)
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow)

    model_version: Mapped[ModelVersion] = relationship()
