"""The durable inbox: updates are written here before the platform is told they arrived.

A row is keyed by (channel, update_id), so a redelivered update is stored once. Workers take
the oldest unhandled row of a chat (never a later one while an earlier one waits), so one
chat's updates run in order while different chats run concurrently. A row stays unhandled
until `finish` commits, together with the replies it caused: a worker that dies midway
leaves it for the next one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, delete, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.engine import insert_for
from chatbot.db.models import InboxUpdate, utcnow

log = logging.getLogger(__name__)

# A handler that raised this many times for reasons other than an outage is given up.
MAX_ATTEMPTS = 3
MAX_RETRY_DELAY = 60.0


class UnstorableUpdate(ValueError):
    """An update the inbox cannot hold (a key longer than its column, an id out of range):
    refused at the door, since storing it would fail on every delivery."""


def key_limit(name: str) -> int:
    """How many characters the inbox holds of an arrival's `name` (update_id, chat_key,
    kind, channel): an adapter refuses longer keys at the door."""
    column = InboxUpdate.__table__.c[name].type
    return column.length if isinstance(column, String) and column.length else 0


@dataclass(frozen=True)
class Arrival:
    """An update as received: what the inbox needs to order and dedupe it."""

    channel: str
    update_id: str
    chat_key: str
    kind: str
    payload: bytes  # sealed

    def __post_init__(self) -> None:
        for name in ("channel", "update_id", "chat_key", "kind"):
            limit = key_limit(name)
            if not 0 < len(getattr(self, name)) <= limit:
                raise UnstorableUpdate(f"{name} must be 1 to {limit} characters")


@dataclass(frozen=True)
class Pending:
    id: int
    channel: str
    update_id: str
    chat_key: str
    kind: str
    payload: bytes | None
    attempts: int
    received_at: datetime


class Inbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def accept(self, arrivals: Sequence[Arrival]) -> int:
        """Store updates not seen before; returns how many were new. Committed on return."""
        if not arrivals:
            return 0
        async with self._sessions.begin() as session:
            statement = insert_for(session, InboxUpdate).on_conflict_do_nothing(
                index_elements=[InboxUpdate.channel, InboxUpdate.update_id]
            )
            now = utcnow()
            rows = [
                {
                    "channel": a.channel,
                    "update_id": a.update_id,
                    "chat_key": a.chat_key,
                    "kind": a.kind,
                    "payload": a.payload,
                    "received_at": now,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for a in arrivals
            ]
            result = await session.execute(statement.returning(InboxUpdate.id), rows)
            return len(result.all())

    async def waiting_chats(
        self, limit: int = 100, channels: Collection[str] | None = None
    ) -> list[str]:
        """Chats with a due unhandled update, the longest-waiting first; only on `channels`
        when given (those this process runs: another channel's rows wait for its process)."""
        on_channels = InboxUpdate.channel.in_(list(channels)) if channels is not None else true()
        async with self._sessions() as session:
            result = await session.execute(
                select(InboxUpdate.chat_key)
                .where(
                    InboxUpdate.handled_at.is_(None),
                    InboxUpdate.next_attempt_at <= utcnow(),
                    on_channels,
                )
                .group_by(InboxUpdate.chat_key)
                .order_by(func.min(InboxUpdate.id))
                .limit(limit)
            )
            return list(result.scalars())

    async def next_of(self, chat_key: str) -> Pending | None:
        """The chat's oldest unhandled update, if it is due (a later one never overtakes)."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(InboxUpdate)
                    .where(InboxUpdate.chat_key == chat_key, InboxUpdate.handled_at.is_(None))
                    .order_by(InboxUpdate.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if row is None or row.next_attempt_at > utcnow():
                return None
            return Pending(
                row.id,
                row.channel,
                row.update_id,
                row.chat_key,
                row.kind,
                row.payload,
                row.attempts,
                row.received_at,
            )

    @staticmethod
    async def finish(session: AsyncSession, row_id: int, outcome: str) -> bool:
        """Mark handled inside the caller's transaction (with the replies it caused); the
        payload goes. False when another worker finished it first."""
        result = await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id == row_id, InboxUpdate.handled_at.is_(None))
            .values(handled_at=utcnow(), outcome=outcome, payload=None, error=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def retry_later(self, row_id: int, error: str, *, counts: bool) -> bool:
        """Try the row again after a backoff. `counts`: a handler bug, not an outage; after
        MAX_ATTEMPTS such failures the row is given up (True is returned)."""
        async with self._sessions.begin() as session:
            row = await session.get(InboxUpdate, row_id)
            if row is None or row.handled_at is not None:
                return False
            attempts = row.attempts + (1 if counts else 0)
            if counts and attempts >= MAX_ATTEMPTS:
                row.attempts = attempts
                row.handled_at = utcnow()
                row.outcome = "failed"
                row.payload = None
                row.error = error[:200]
                return True
            delay = min(MAX_RETRY_DELAY, 2.0 ** max(attempts, 1)) * random.uniform(0.5, 1.0)  # noqa: S311
            row.attempts = attempts
            row.error = error[:200]
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            return False

    async def pending_count(self) -> int:
        async with self._sessions() as session:
            result = await session.execute(
                select(func.count()).where(InboxUpdate.handled_at.is_(None))
            )
            return int(result.scalar_one())

    async def purge_handled(self, older_than: timedelta) -> int:
        """Drop handled rows past the platforms' redelivery window (Telegram: 24 h)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(InboxUpdate).where(
                    InboxUpdate.handled_at.is_not(None),
                    InboxUpdate.handled_at < utcnow() - older_than,
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def outcomes(self, channel: str, update_ids: Iterable[str]) -> dict[str, str | None]:
        """For tests and tools: the outcome per update id (None while unhandled)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(InboxUpdate.update_id, InboxUpdate.outcome).where(
                    InboxUpdate.channel == channel, InboxUpdate.update_id.in_(list(update_ids))
                )
            )
            return {row[0]: row[1] for row in result.all()}
