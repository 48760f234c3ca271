"""Ready to receive: when the requester was asked to say they are ready for the one-time link
(their reply window closed or closing) and when they said so; the link message's id and its
last receipt (sent, delivered, read, failed)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("ready_asked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("credential_links") as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credential_links") as batch_op:
        batch_op.drop_column("receipt_at")
        batch_op.drop_column("receipt")
        batch_op.drop_column("message_id")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("ready_at")
        batch_op.drop_column("ready_asked_at")
