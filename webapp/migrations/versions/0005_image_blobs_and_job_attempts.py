"""image blobs and job attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_blobs",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("image_id"),
    )
    with op.batch_alter_table("image_blobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_blobs_job_id"), ["job_id"], unique=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("attempts")
    with op.batch_alter_table("image_blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_blobs_job_id"))
    op.drop_table("image_blobs")
