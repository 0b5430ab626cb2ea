"""editors desk: regeneration rounds, revision sections, check errors, publications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:06:07.669800

Items get a generation round (an editor's regeneration is round 2, 3, ...) and the
number of error findings on their current text; generations and refinements name their
round; revisions keep their section texts; findings on an editor's revision name their
section; publications record what `publish-approved` copied where.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "revision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("review_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=71), nullable=False),
        sa.Column("manifest_key", sa.String(length=1024), nullable=True),
        sa.Column("prefect_flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_publications_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_publications_review_id_reviews"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["revisions.id"],
            name=op.f("fk_publications_revision_id_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint(
            "revision_id", "format", name=op.f("uq_publications_revision_id_format")
        ),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publications_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("section", sa.String(length=100), nullable=True))

    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("generation_round", sa.Integer(), nullable=False, server_default="1")
        )

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("generation_round", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("check_errors", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(batch_op.f("ix_items_status_id"), ["status", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_items_status_check_errors_id"),
            ["status", "check_errors", "id"],
            unique=False,
        )

    with op.batch_alter_table("refinements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("generation_round", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.drop_constraint(batch_op.f("uq_refinements_item_id_section"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_refinements_item_id_section_generation_round"),
            ["item_id", "section", "generation_round"],
        )

    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sections",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="{}",
            )
        )

    # Items already awaiting review: count the errors their final text went to review with.
    op.execute(
        "UPDATE items SET check_errors = (SELECT count(*) FROM findings "
        "WHERE findings.item_id = items.id AND findings.refinement_id IS NOT NULL "
        "AND findings.severity = 'error')"
    )


def downgrade() -> None:
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.drop_column("sections")

    with op.batch_alter_table("refinements", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_refinements_item_id_section_generation_round"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_refinements_item_id_section"), ["item_id", "section"]
        )
        batch_op.drop_column("generation_round")

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_status_check_errors_id"))
        batch_op.drop_index(batch_op.f("ix_items_status_id"))
        batch_op.drop_column("check_errors")
        batch_op.drop_column("generation_round")

    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_column("generation_round")

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("section")

    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publications_item_id"))

    op.drop_table("publications")
