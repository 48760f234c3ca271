"""The outbox's lanes: a chat's rows wait behind each other, other chats' rows do not, and a
chat is a chat on a channel (the same number on two channels is two chats)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import OutboxMessage
from chatbot.services.notices import NoticeKind
from chatbot.services.outbox import Outbox


async def _queue(
    sessions: async_sessionmaker[AsyncSession], channel: str, chat_id: str, n: int
) -> None:
    async with sessions.begin() as session:
        for i in range(n):
            Outbox.add_reply(session, channel, chat_id, f"{channel}-{i}".encode())


async def test_a_waiting_row_holds_back_its_chat_only_on_its_own_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(sessions)
    await _queue(sessions, "telegram", "5", 2)
    await _queue(sessions, "whatsapp", "5", 1)
    first = (await outbox.due())[0]
    await outbox.retry_later(first.id, "timeout", permanent=False)  # telegram:5 must wait

    due = [(row.channel, row.sealed) for row in await outbox.due()]
    assert due == [("whatsapp", b"whatsapp-0")]  # not held back by telegram's chat 5


async def test_admin_group_rows_share_a_lane_with_replies_in_that_group(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(sessions)
    await _queue(sessions, "telegram", "-100", 1)  # a reply to a command in the group
    async with sessions.begin() as session:
        session.add(OutboxMessage(audience="admins", kind=NoticeKind.CARD, payload={}))
    first = (await outbox.due("-100", "telegram"))[0]
    await outbox.retry_later(first.id, "timeout", permanent=False)
    assert await outbox.due("-100", "telegram") == []  # the card waits behind the reply
