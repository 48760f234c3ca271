"""A channel's reply window (WhatsApp: free-form messages only within 24 hours of the
person's last message) and the receipts of what we sent.

The pipeline records a requester's last inbound message and each receipt inside the
transaction that marks the update handled; the sender (through Outbox) asks when a chat last
wrote and holds a row no template can carry; a later message from that chat releases it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import CredentialLink, OutboxMessage, Requester, utcnow
from chatbot.services.notices import NoticeKind

# Receipts only move forward: a late "sent" never overwrites "read"; "failed" may follow
# "delivered" (another device of the account) and ends the line.
RECEIPT_ORDER = ("sent", "delivered", "read", "failed")
# What the platform said when a message cannot go out in a closed window, or at all.
WINDOW_CLOSED = 131047
UNDELIVERABLE = 131026
HELD_FOR = timedelta(days=3650)  # a held row waits for the person, not for a clock
AS_TEMPLATE = "as_template"  # payload flag: send this row as its notice's template

# The reply windows of the channels that have one (WhatsApp's 24 hours), for what the card
# shows; the sender asks the messenger itself (`WindowedMessenger.window`).
WINDOWS = {"whatsapp": timedelta(hours=24)}
# A window with less than this left is "closing": the one-time link is not handed over into
# it (the admin's hand-over takes minutes, and the link's key must never wait in a queue).
CLOSING = timedelta(hours=1)

# When the person whose update is being handled wrote it (the platform's time), on a channel
# with a reply window; set by the pipeline around the dialog, so a use case that creates the
# requester's row records it at once (`inbound_time`).
_INBOUND_AT: ContextVar[datetime | None] = ContextVar("inbound_at", default=None)


@contextmanager
def inbound(at: datetime | None) -> Iterator[None]:
    """Handle an update written at `at` (None: a channel without a reply window)."""
    token = _INBOUND_AT.set(at)
    try:
        yield
    finally:
        _INBOUND_AT.reset(token)


def inbound_time() -> datetime | None:
    """When the update being handled was written, on a channel with a reply window."""
    return _INBOUND_AT.get()


def window_open_until(last_inbound_at: datetime | None, window: timedelta) -> datetime | None:
    """Until when free-form messages may go (None: the person never wrote)."""
    return None if last_inbound_at is None else last_inbound_at + window


def window_closing(
    last_inbound_at: datetime | None, window: timedelta, now: datetime | None = None
) -> bool:
    """The window is closed, or closes within `CLOSING` (or was never opened)."""
    until = window_open_until(last_inbound_at, window)
    return until is None or until - (now or utcnow()) < CLOSING


@dataclass(frozen=True)
class Recorded:
    """What a receipt changed: its outbox row (None: a link message's), and what follows."""

    row_id: int | None
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
    if row is None:
        return await _record_link_receipt(session, message_id, status, at, error_code)
    if _rank(status) < 0 or _rank(status) <= _rank(row.receipt or ""):
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
    if row.ticket_id is not None and row.audience == "requester" and status != "sent":
        _refresh_card(session, row.ticket_id)
    return Recorded(row.id, row.ticket_id, failed and error_code == UNDELIVERABLE, requeued)


async def _record_link_receipt(
    session: AsyncSession, message_id: str, status: str, at: datetime, error_code: int | None
) -> Recorded | None:
    """A receipt of the message that carried a one-time link (sent outside the outbox), in
    order as an outbox row's; the card shows it ("dibaca")."""
    link = await session.scalar(
        select(CredentialLink)
        .where(CredentialLink.message_id == message_id)
        .order_by(CredentialLink.id.desc())
        .limit(1)
    )
    if link is None or _rank(status) < 0 or _rank(status) <= _rank(link.receipt or ""):
        return None
    link.receipt, link.receipt_at = status, at
    _refresh_card(session, link.ticket_id)
    failed = status == "failed"
    return Recorded(None, link.ticket_id, failed and error_code == UNDELIVERABLE, False)


def _refresh_card(session: AsyncSession, ticket_id: int) -> None:
    """Queue an edit of the ticket's card (queued edits of one card collapse into one)."""
    session.add(
        OutboxMessage(ticket_id=ticket_id, audience="admins", kind=NoticeKind.CARD, payload={})
    )
