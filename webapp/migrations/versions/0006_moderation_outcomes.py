"""moderation outcomes: guarded log entries, their job and language; a job's moderation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refusals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sa.String(length=16), server_default="refused", nullable=False)
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("job_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_refusals_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_refusals_job_id"), ["job_id"], unique=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("moderation")
    with op.batch_alter_table("refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refusals_job_id"))
        batch_op.drop_index(batch_op.f("ix_refusals_outcome"))
        batch_op.drop_column("job_id")
        batch_op.drop_column("language")
        batch_op.drop_column("outcome")
