"""Rows sealed under a key this worker does not hold (a rolling upgrade, a restored backup):
a recent one waits for a worker that holds the key, an old one is given up with a word to its
chat, so it never blocks the chat for ever and is never silently lost."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from chatbot.conversations import texts as t
from chatbot.conversations.messages import Reply, reply_to_dict
from chatbot.db.models import InboxUpdate, OutboxMessage, utcnow
from chatbot.pipeline.handling import reply_context
from chatbot.pipeline.ingress import update_context
from chatbot.services.inbox import Arrival
from chatbot.services.sealing import Sealer
from tests.e2e.harness import REQUESTER, Harness

OTHER_KEY = Sealer.from_secret("a-key-this-worker-does-not-hold", "inbox")


def _start(update_id: int) -> bytes:
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": REQUESTER, "type": "private", "first_name": "Budi"},
            "from": {"id": REQUESTER, "is_bot": False, "first_name": "Budi"},
            "text": "/start",
        },
    }
    return OTHER_KEY.seal(json.dumps(update).encode(), update_context("telegram", str(update_id)))


async def _inbox_row(bot: Harness, update_id: int) -> InboxUpdate:
    async with bot.app.sessions() as session:
        row = await session.scalar(
            select(InboxUpdate).where(InboxUpdate.update_id == str(update_id))
        )
        assert row is not None
        return row


async def test_a_recent_update_sealed_elsewhere_waits_without_counting(bot: Harness) -> None:
    arrival = Arrival("telegram", "900001", f"telegram:{REQUESTER}", "message", _start(900001))
    await bot.pipeline.inbox.accept([arrival])
    await bot.settle()

    row = await _inbox_row(bot, 900001)
    assert row.handled_at is None and row.attempts == 0  # still there, not counted
    assert row.next_attempt_at > utcnow()
    assert bot.texts(REQUESTER) == []  # nobody was told anything went wrong


async def test_an_old_update_sealed_elsewhere_is_given_up_and_its_chat_told(
    bot: Harness,
) -> None:
    arrival = Arrival("telegram", "900002", f"telegram:{REQUESTER}", "message", _start(900002))
    await bot.pipeline.inbox.accept([arrival])
    async with bot.app.sessions.begin() as session:  # received long ago, tried twice already
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == "900002")
            .values(received_at=utcnow() - timedelta(hours=1), attempts=2)
        )
    await bot.settle()

    assert (await _inbox_row(bot, 900002)).outcome == "failed"
    assert bot.texts(REQUESTER) == [t.SORRY]
    # The chat is free again: its next update is answered.
    await bot.say(REQUESTER, "/start")
    assert "Pilih menu" in bot.last(REQUESTER).content


async def _queue_reply(bot: Harness, text: str) -> int:
    chat = str(REQUESTER)
    sealed = OTHER_KEY.seal(json.dumps(reply_to_dict(Reply(text))).encode(), reply_context(chat))
    async with bot.app.sessions.begin() as session:
        bot.app.outbox.add_reply(session, "telegram", chat, sealed)
    async with bot.app.sessions() as session:
        return int(await session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())))


async def test_a_queued_reply_sealed_elsewhere_waits_then_fails_when_old(bot: Harness) -> None:
    row_id = await _queue_reply(bot, "balasan dari pekerja lain")
    await bot.pipeline.sender.flush()
    async with bot.app.sessions() as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        assert row.failed_at is None and row.sealed is not None  # kept: it may open elsewhere
        assert row.attempts == 1

    async with bot.app.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(created_at=utcnow() - timedelta(hours=1), next_attempt_at=utcnow())
        )
    await bot.pipeline.sender.flush()
    async with bot.app.sessions() as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None and row.failed_at is not None and row.sealed is None
    assert bot.texts(REQUESTER) == []
