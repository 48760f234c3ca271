"""time standards on the office clock, late reasons, step-4 reminders, retention

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STEP_TIMES = ("due_at", "escalate_at", "reminded_at", "escalated_at")


def upgrade() -> None:
    with op.batch_alter_table("step_records") as batch_op:
        for name in _STEP_TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("office_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("late_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("late_reason_by", sa.String(length=200), nullable=True))
    op.create_index("ix_step_records_open_due", "step_records", ["finished_at", "due_at"])
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(
            sa.Column("supplement_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("purged_at")
        batch_op.drop_column("supplement_reminded_at")
    op.drop_index("ix_step_records_open_due", table_name="step_records")
    with op.batch_alter_table("step_records") as batch_op:
        batch_op.drop_column("late_reason_by")
        batch_op.drop_column("late_reason")
        batch_op.drop_column("office_seconds")
        for name in reversed(_STEP_TIMES):
            batch_op.drop_column(name)
