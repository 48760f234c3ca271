"""one-time links recorded before they are sent (sent_at stays NULL until recorded)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credential_links") as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    # Every link recorded so far was recorded after it was sent.
    op.execute("UPDATE credential_links SET sent_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("credential_links") as batch_op:
        batch_op.drop_column("sent_at")
