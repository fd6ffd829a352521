"""image feedback: votes and reports per requester and image; reported images in the log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("requester", sa.String(length=120), nullable=False),
        sa.Column("vote", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["refusals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("image_id", "requester", name="uq_image_feedback_voter"),
    )
    with op.batch_alter_table("image_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_feedback_image_id"), ["image_id"])
        batch_op.create_index(batch_op.f("ix_image_feedback_requester"), ["requester"])
        batch_op.create_index(batch_op.f("ix_image_feedback_updated_at"), ["updated_at"])
    with op.batch_alter_table("refusals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_refusals_image_id"), ["image_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refusals_image_id"))
        batch_op.drop_column("image_id")
    op.drop_table("image_feedback")
