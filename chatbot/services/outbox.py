"""The outbox: notifications committed with the state change that caused them, and the
replies to an update committed with the mark that it was handled.

The sender (pipeline/sender.py) delivers them in order per chat, retrying with
backoff; it records what the platform answered, so a retry never repeats a finished part.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from chatbot.db.models import OutboxMessage, Requester, Ticket, utcnow
from chatbot.services.notices import NoticeKind
from chatbot.services.reply_window import AS_TEMPLATE, HELD_FOR

MAX_DELAY = 300.0

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def due(
        self, admin_chat_id: str = "", admin_channel: str = "", limit: int = 50
    ) -> list[OutboxMessage]:
        """Rows to send now, oldest first; a row waits while an earlier row to the same chat
        (of the same channel) waits (a backoff or a pace), so a chat's messages never
        overtake each other. Rows for the admin group carry no chat id and no channel: they
        go to `admin_chat_id` on `admin_channel`."""
        earlier = aliased(OutboxMessage)
        pending = and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        held_back = exists().where(
            earlier.id < OutboxMessage.id,
            earlier.sent_at.is_(None),
            earlier.failed_at.is_(None),
            earlier.next_attempt_at > utcnow(),
            func.coalesce(earlier.chat_id, admin_chat_id)
            == func.coalesce(OutboxMessage.chat_id, admin_chat_id),
            func.coalesce(earlier.channel, admin_channel)
            == func.coalesce(OutboxMessage.channel, admin_channel),
        )
        async with self._sessions() as session:
            result = await session.execute(
                select(OutboxMessage)
                .where(pending, OutboxMessage.next_attempt_at <= utcnow(), ~held_back)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list(result.scalars())

    @staticmethod
    def add_reply(session: AsyncSession, channel: str, chat_id: str, sealed: bytes) -> None:
        """Queue a reply inside the caller's transaction (the one that marks its update
        handled): either both happen or neither."""
        session.add(
            OutboxMessage(
                audience="user",
                kind=NoticeKind.REPLY,
                channel=channel,
                chat_id=chat_id,
                sealed=sealed,
            )
        )

    async def mark_sent(self, message_id: int, platform_message_id: str | None = None) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(sent_at=utcnow(), platform_message_id=platform_message_id, sealed=None)
            )

    async def note_progress(self, message_id: int, payload: dict[str, Any]) -> None:
        """Remember a finished part (e.g. the documents before the card), so a retry after a
        crash or a failure does not send it again."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id).values(payload=payload)
            )

    async def defer(self, message_id: int, seconds: float) -> None:
        """Not a failure: the chat is at its pace; try again when its window ends."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(next_attempt_at=utcnow() + timedelta(seconds=seconds))
            )

    async def last_card_row(self, ticket_id: int) -> int:
        """The newest queued card row of a ticket: a card rendered after this covers it."""
        async with self._sessions() as session:
            newest = await session.scalar(
                select(func.max(OutboxMessage.id)).where(
                    OutboxMessage.ticket_id == ticket_id,
                    OutboxMessage.kind == NoticeKind.CARD,
                    OutboxMessage.sent_at.is_(None),
                )
            )
            return int(newest or 0)

    async def purge_sent(self, older_than: timedelta) -> int:
        """Drop rows sent (or given up) long ago; each reply is a row, so they add up."""
        async with self._sessions.begin() as session:
            cutoff = utcnow() - older_than
            result = await session.execute(
                delete(OutboxMessage).where(
                    or_(OutboxMessage.sent_at < cutoff, OutboxMessage.failed_at < cutoff)
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def mark_card_rows_sent(self, ticket_id: int, up_to_id: int) -> None:
        """Several queued card edits of one ticket collapse into the one just made."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.ticket_id == ticket_id,
                    OutboxMessage.kind == NoticeKind.CARD,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.id <= up_to_id,
                )
                .values(sent_at=utcnow())
            )

    async def retry_later(
        self, message_id: int, error: str, *, permanent: bool, retry_after: float | None = None
    ) -> None:
        """Back off exponentially with jitter, at most MAX_DELAY apart; a transient failure
        (network, 429, Telegram down) is retried for as long as it lasts, a permanent one
        (blocked, refused) is marked failed."""
        async with self._sessions.begin() as session:
            message = await session.get(OutboxMessage, message_id)
            if message is None:
                return
            message.attempts += 1
            message.last_error = error[:500]
            if permanent:
                message.failed_at = utcnow()
                message.sealed = None
                log.error("outbox %s (%s) failed for good: %s", message.id, message.kind, error)
                return
            backoff = min(MAX_DELAY, 2.0 ** min(message.attempts, 16))
            # Full jitter on the backoff; the platform's retry_after is obeyed as given.
            delay = retry_after or backoff * random.uniform(0.5, 1.0)  # noqa: S311
            message.next_attempt_at = utcnow() + timedelta(seconds=delay)

    async def set_admin_message(self, ticket_id: int, message_id: str) -> None:
        """Remember the group message of a ticket; not a state change, so no version bump."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(admin_message_id=message_id)
            )

    async def last_inbound(self, channel: str, chat_id: str) -> datetime | None:
        """When the person of a chat last wrote (a reply window's start), if known."""
        async with self._sessions() as session:
            return await session.scalar(
                select(Requester.last_inbound_at).where(
                    Requester.channel == channel, Requester.chat_id == chat_id
                )
            )

    async def hold(self, message_id: int, reason: str) -> bool:
        """Hold a row (not failed) until its chat writes again, which releases it
        (reply_window.note_inbound) into an open window: then the rich message, not the
        template, goes. True when newly held."""
        async with self._sessions.begin() as session:
            message = await session.get(OutboxMessage, message_id)
            if message is None:
                return False
            newly = message.held_at is None
            message.held_at = message.held_at or utcnow()
            message.last_error = reason[:500]
            message.next_attempt_at = utcnow() + HELD_FOR
            if AS_TEMPLATE in message.payload:
                message.payload = {k: v for k, v in message.payload.items() if k != AS_TEMPLATE}
            return newly
