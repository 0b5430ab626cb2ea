"""candidates: several generations per attempt, the checks choose among them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 11:30:00

`generations.candidate` numbers the candidates of one attempt (0: the greedy one, then
seeded samples), so the unique key becomes (item, section, attempt, candidate);
`generations.mean_logprob` is the mean token log-probability of the text under the
model, the last tie-breaker when the checks choose a candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("candidate", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("mean_logprob", sa.Float(), nullable=True))
        batch_op.drop_constraint("uq_generations_item_id_section_attempt", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_generations_item_id_section_attempt_candidate"),
            ["item_id", "section", "attempt", "candidate"],
        )


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_generations_item_id_section_attempt_candidate"), type_="unique"
        )
        batch_op.execute("DELETE FROM generations WHERE candidate > 0")
        batch_op.create_unique_constraint(
            "uq_generations_item_id_section_attempt", ["item_id", "section", "attempt"]
        )
        batch_op.drop_column("mean_logprob")
        batch_op.drop_column("candidate")
