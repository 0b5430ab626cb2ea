"""refinements: the refine stage's decision per section

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:07:51.218731
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refinements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section", sa.String(length=100), nullable=False),
        sa.Column(
            "generation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=71), nullable=False),
        sa.Column(
            "fixes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prefect_flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("prefect_task_run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_refinements_generation_id_generations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_refinements_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refinements")),
        sa.UniqueConstraint("item_id", "section", name=op.f("uq_refinements_item_id_section")),
    )
    with op.batch_alter_table("refinements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refinements_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refinement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index(
            batch_op.f("ix_findings_refinement_id"), ["refinement_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_findings_refinement_id_refinements"),
            "refinements",
            ["refinement_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_findings_refinement_id_refinements"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_findings_refinement_id"))
        batch_op.drop_column("refinement_id")

    with op.batch_alter_table("refinements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refinements_item_id"))

    op.drop_table("refinements")
