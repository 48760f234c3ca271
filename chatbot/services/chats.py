"""Groups the platform moved to a new id (Telegram: a group upgraded to a supergroup)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.engine import insert_for
from chatbot.db.models import ChatMigration

MAX_HOPS = 10  # a group migrates once; a loop in the data must not hang a start


class ChatMigrations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, channel: str, old_chat_id: str, new_chat_id: str) -> bool:
        """True when this call recorded it (several workers may learn it at once)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                insert_for(session, ChatMigration)
                .values(channel=channel, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
                .on_conflict_do_nothing(
                    index_elements=[ChatMigration.channel, ChatMigration.old_chat_id]
                )
                .returning(ChatMigration.id)
            )
            return result.first() is not None

    async def resolve(self, channel: str, chat_id: str) -> str:
        """Where the chat lives now, following every recorded move."""
        async with self._sessions() as session:
            for _ in range(MAX_HOPS):
                moved = await session.scalar(
                    select(ChatMigration.new_chat_id).where(
                        ChatMigration.channel == channel, ChatMigration.old_chat_id == chat_id
                    )
                )
                if moved is None:
                    break
                chat_id = moved
        return chat_id

    async def former_ids(self, channel: str, chat_id: str) -> set[str]:
        """Every id this chat had before (messages from them still belong to it)."""
        found: set[str] = set()
        async with self._sessions() as session:
            frontier = {chat_id}
            for _ in range(MAX_HOPS):
                rows = await session.scalars(
                    select(ChatMigration.old_chat_id).where(
                        ChatMigration.channel == channel,
                        ChatMigration.new_chat_id.in_(frontier),
                    )
                )
                frontier = set(rows) - found
                if not frontier:
                    break
                found |= frontier
        return found
