"""wider ids for WhatsApp: wamids (about 80 characters, and `wamid:status` keys), business-
scoped user ids (about 130) and the lanes and actor ids built from them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, before, after); widening a VARCHAR rewrites nothing on PostgreSQL.
WIDER = [
    ("requesters", "chat_id", 64, 160),
    ("requesters", "platform_user_id", 64, 160),
    ("tickets", "submitted_by_update", 80, 200),
    ("step_records", "actor_id", 64, 200),
    ("audit_events", "actor_id", 64, 200),
    ("outbox", "chat_id", 64, 160),
    ("outbox", "platform_message_id", 64, 128),
    ("inbox", "update_id", 64, 128),
    ("inbox", "chat_key", 80, 200),
    ("chat_migrations", "old_chat_id", 64, 160),
    ("chat_migrations", "new_chat_id", 64, 160),
]


def _alter(backwards: bool) -> None:
    tables: dict[str, list[tuple[str, int, int]]] = {}
    for table, column, before, after in WIDER:
        tables.setdefault(table, []).append((column, before, after))
    for table, columns in tables.items():
        with op.batch_alter_table(table) as batch_op:
            for column, before, after in columns:
                old, new = (after, before) if backwards else (before, after)
                batch_op.alter_column(column, existing_type=sa.String(old), type_=sa.String(new))


def upgrade() -> None:
    _alter(backwards=False)


def downgrade() -> None:
    _alter(backwards=True)
