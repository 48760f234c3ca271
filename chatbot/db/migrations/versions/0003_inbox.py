"""durable inbox, idempotent outbox, unreachable requesters, group migrations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("chat_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("channel", "update_id", name=op.f("uq_inbox_channel")),
    )
    op.create_index("ix_inbox_pending", "inbox", ["handled_at", "chat_key", "id"])
    op.create_index(op.f("ix_inbox_received_at"), "inbox", ["received_at"])
    op.create_table(
        "chat_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("old_chat_id", sa.String(length=64), nullable=False),
        sa.Column("new_chat_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_migrations")),
        sa.UniqueConstraint("channel", "old_chat_id", name=op.f("uq_chat_migrations_channel")),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("platform_message_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(
            sa.Column("requester_unreachable_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("submitted_by_update", sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_tickets_submitted_by_update"), ["submitted_by_update"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(op.f("uq_tickets_submitted_by_update"), type_="unique")
        batch_op.drop_column("submitted_by_update")
        batch_op.drop_column("requester_unreachable_at")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("platform_message_id")
        batch_op.drop_column("sealed")
    op.drop_table("chat_migrations")
    op.drop_index(op.f("ix_inbox_received_at"), table_name="inbox")
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_table("inbox")
