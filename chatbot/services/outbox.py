"""The outbox: notifications committed with the state change that caused them.

The sender (conversations.outbox_sender) delivers them in order, retrying with backoff.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import OutboxMessage, Ticket, utcnow

MAX_DELAY = 300.0

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def due(self, limit: int = 50) -> list[OutboxMessage]:
        async with self._sessions() as session:
            result = await session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.next_attempt_at <= utcnow(),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list(result.scalars())

    async def mark_sent(self, *ids: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(sent_at=utcnow())
            )

    async def mark_card_rows_sent(self, ticket_id: int, up_to_id: int) -> None:
        """Several queued card edits of one ticket collapse into the one just made."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.ticket_id == ticket_id,
                    OutboxMessage.kind == "card",
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
                log.error("outbox %s (%s) failed for good: %s", message.id, message.kind, error)
                return
            backoff = min(MAX_DELAY, 2.0 ** min(message.attempts, 16))
            delay = retry_after or backoff * random.uniform(0.5, 1.0)  # noqa: S311
            message.next_attempt_at = utcnow() + timedelta(seconds=delay)

    async def set_admin_message(self, ticket_id: int, message_id: str) -> None:
        """Remember the group message of a ticket; not a state change, so no version bump."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(admin_message_id=message_id)
            )
