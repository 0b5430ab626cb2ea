"""reviews: index on created_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:50:00

The review queue counts the decisions made since midnight ("decided today") on every
page view; without this index that count scanned the reviews table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_created_at"))
