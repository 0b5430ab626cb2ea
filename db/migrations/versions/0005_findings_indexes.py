"""findings: indexes on generation_id and revision_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:05:00

The item page reads the findings of an item's current revision by `revision_id`, and a
generation's findings are found (and deleted with it, ON DELETE CASCADE) by
`generation_id`; without these indexes each was a scan of the findings table, which
grows by a few rows per section generated.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_findings_generation_id"), ["generation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_findings_revision_id"), ["revision_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_revision_id"))
        batch_op.drop_index(batch_op.f("ix_findings_generation_id"))
