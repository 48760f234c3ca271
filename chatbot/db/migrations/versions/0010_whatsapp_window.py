"""WhatsApp's 24-hour window and receipts: a requester's last inbound message, the last
status (sent, delivered, read, failed) of an outgoing message, and a row held while the
window is closed and no template can carry it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requesters") as batch_op:
        batch_op.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("receipt", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("held_at")
        batch_op.drop_column("receipt_at")
        batch_op.drop_column("receipt")
    with op.batch_alter_table("requesters") as batch_op:
        batch_op.drop_column("last_inbound_at")
