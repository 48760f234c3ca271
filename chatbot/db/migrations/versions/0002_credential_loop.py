"""one-time link states and the requester's confirmation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("confirm_reminders", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("incidents", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("credential_links") as batch_op:
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_viewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("views", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("refusals", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("credential_links") as batch_op:
        for name in ("refusals", "views", "first_viewed_at", "expired_at", "revoked_by"):
            batch_op.drop_column(name)
    with op.batch_alter_table("tickets") as batch_op:
        for name in ("incidents", "confirm_reminders", "confirmed_at"):
            batch_op.drop_column(name)
