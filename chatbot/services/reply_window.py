"""A channel's reply window (WhatsApp: free-form messages only within 24 hours of the
person's last message) and the receipts of what we sent.

The pipeline records a requester's last inbound message and each receipt inside the
transaction that marks the update handled; the sender (through Outbox) asks when a chat last
wrote and holds a row no template can carry; a later message from that chat releases it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import OutboxMessage, Requester, utcnow
from chatbot.services.notices import NoticeKind

# Receipts only move forward: a late "sent" never overwrites "read"; "failed" may follow
# "delivered" (another device of the account) and ends the line.
RECEIPT_ORDER = ("sent", "delivered", "read", "failed")
# What the platform said when a message cannot go out in a closed window, or at all.
WINDOW_CLOSED = 131047
UNDELIVERABLE = 131026
HELD_FOR = timedelta(days=3650)  # a held row waits for the person, not for a clock
AS_TEMPLATE = "as_template"  # payload flag: send this row as its notice's template


@dataclass(frozen=True)
class Recorded:
    """What a receipt changed: its outbox row, and what follows from it."""

    row_id: int
    ticket_id: int | None
    unreachable: bool  # failed: the person cannot receive messages (131026)
    requeued: bool  # failed: the window was closed; the row goes again as its template


def _rank(status: str) -> int:
    return RECEIPT_ORDER.index(status) if status in RECEIPT_ORDER else -1


async def note_inbound(session: AsyncSession, channel: str, chat_id: str, at: datetime) -> None:
    """The person wrote at `at`: their window is open again, and rows held for it go."""
    await session.execute(
        update(Requester)
        .where(Requester.channel == channel, Requester.chat_id == chat_id)
        .where((Requester.last_inbound_at.is_(None)) | (Requester.last_inbound_at < at))
        .values(last_inbound_at=at)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.held_at.is_not(None),
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
        )
        .values(held_at=None, next_attempt_at=utcnow())
    )


async def record_receipt(
    session: AsyncSession,
    channel: str,
    message_id: str,
    status: str,
    at: datetime,
    error_code: int | None = None,
) -> Recorded | None:
    """Record a receipt on the row that sent the message, in order (None: no such row, or
    an older receipt than the one recorded). A failed status with 131047 re-queues the row
    as its template."""
    row = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.platform_message_id == message_id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if row is None or _rank(status) < 0 or _rank(status) <= _rank(row.receipt or ""):
        return None
    row.receipt, row.receipt_at = status, at
    failed = status == "failed"
    # A dialog's reply cannot go again: its sealed content is dropped once sent.
    requeued = (
        failed
        and error_code == WINDOW_CLOSED
        and row.kind != NoticeKind.REPLY
        and not row.payload.get(AS_TEMPLATE)
    )
    if requeued:
        row.payload = {**row.payload, AS_TEMPLATE: True}
        row.sent_at, row.next_attempt_at = None, utcnow()
        row.receipt = row.receipt_at = None  # the template's receipts come next
        row.platform_message_id = None
    return Recorded(row.id, row.ticket_id, failed and error_code == UNDELIVERABLE, requeued)
