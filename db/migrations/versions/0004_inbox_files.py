"""inbox files: what each schedule took from its inbox, and the batch it became

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:28:39.036529

One row per (schedule, source, sha256): a file is claimed here before its batch starts
(so two runs never both take it), then marked done or failed; a changed file under the
same name has a new sha256 and is new.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=71), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_inbox_files_batch_id_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_files")),
        sa.UniqueConstraint(
            "schedule", "source", "sha256", name=op.f("uq_inbox_files_schedule_source_sha256")
        ),
    )
    with op.batch_alter_table("inbox_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_files_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_files_batch_id"))

    op.drop_table("inbox_files")
