"""model versions: tuned models, the promotions that choose one per content type, and
the version each generation was written by

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00

`model_versions` names a tune's artifact (stored immutably in the object store, by key
and sha256) with its base model, training data, settings, libraries and evaluation;
`promotions` is the history of which version a content type uses (its latest row wins);
`generations.model_version_id` is each model call's version (NULL: the base model).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("base_model_id", sa.String(length=300), nullable=False),
        sa.Column("base_model_revision", sa.String(length=100), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("artifact_key", sa.String(length=1024), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=71), nullable=False),
        sa.Column("artifact_bytes", sa.BigInteger(), nullable=False),
        sa.Column("artifact_files", JSON, nullable=False),
        sa.Column("data_digest", sa.String(length=71), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("hyperparameters", JSON, nullable=False),
        sa.Column("library_versions", JSON, nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("evaluation", JSON, nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("name", name=op.f("uq_model_versions_name")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_versions_content_type"), ["content_type"], unique=False
        )
    op.create_table(
        "promotions",
        sa.Column("id", ID, nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("model_version_id", ID, nullable=False),
        sa.Column("promoted_by", sa.String(length=100), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_promotions_model_version_id_model_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promotions_content_type"), ["content_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_promotions_model_version_id"), ["model_version_id"], unique=False
        )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_version_id", ID, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_generations_model_version_id"), ["model_version_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_generations_model_version_id_model_versions"),
            "model_versions",
            ["model_version_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_generations_model_version_id_model_versions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_generations_model_version_id"))
        batch_op.drop_column("model_version_id")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotions_model_version_id"))
        batch_op.drop_index(batch_op.f("ix_promotions_content_type"))
    op.drop_table("promotions")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_content_type"))
    op.drop_table("model_versions")
