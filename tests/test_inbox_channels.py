"""A worker takes only the updates of the channels its process runs: another channel's rows
wait for their own process instead of being picked up and pushed back again and again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.services.inbox import Arrival, Inbox


async def test_waiting_chats_are_those_of_the_channels_asked_for(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = Inbox(sessions)
    await inbox.accept(
        [
            Arrival("telegram", "1", "telegram:5", "message", b"x"),
            Arrival("whatsapp", "1", "whatsapp:628123", "message", b"y"),
        ]
    )
    assert await inbox.waiting_chats(channels={"telegram"}) == ["telegram:5"]
    assert await inbox.waiting_chats(channels={"whatsapp"}) == ["whatsapp:628123"]
    assert sorted(await inbox.waiting_chats()) == ["telegram:5", "whatsapp:628123"]
