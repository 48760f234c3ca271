"""Nothing lost, nothing twice, within Telegram's limits: the platform's failures injected.

Where a retry waits (a 429's retry_after, a backoff), the test checks the wait was set and
then moves the clock on by making the waiting rows due, instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from chatbot.channels.pacing import TELEGRAM_LIMITS
from chatbot.conversations.messages import Incoming, Reply, Response, reply_to_dict
from chatbot.db.models import AuditEvent, OutboxMessage, utcnow
from chatbot.pipeline.handling import reply_context
from chatbot.settings import Settings
from tests.e2e.harness import (
    ADMIN,
    GROUP,
    OTHER_REQUESTER,
    REQUESTER,
    STRANGER,
    Harness,
    bot_settings,
)
from tests.fakes.bot_api import FakeBotApi


async def _due_now(bot: Harness) -> None:
    """The clock moves on: every waiting outbox row is due; then the sender runs."""
    async with bot.app.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
            .values(next_attempt_at=utcnow())
        )
    await bot.pipeline.sender.flush()


async def _waiting(bot: Harness) -> list[OutboxMessage]:
    async with bot.app.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
            .order_by(OutboxMessage.id)
        )
        return list(rows)


def _texts(bot: Harness, chat: int) -> list[str]:
    return bot.texts(chat)


async def test_a_429_waits_as_long_as_telegram_asks_then_the_reply_arrives_once(
    bot: Harness,
) -> None:
    bot.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    bot.fake.send_text(REQUESTER, "/start")
    await bot.settle()
    assert _texts(bot, REQUESTER) == []  # refused once: nothing shown yet
    [waiting] = await _waiting(bot)
    wait = (waiting.next_attempt_at - utcnow()).total_seconds()
    assert 5 < wait <= 7  # as Telegram asked, not our own backoff
    await _due_now(bot)
    assert len(_texts(bot, REQUESTER)) == 1 and "Pilih menu" in _texts(bot, REQUESTER)[0]


async def test_a_5xx_is_retried_with_backoff_and_the_reply_arrives_once(bot: Harness) -> None:
    bot.fake.fail_next("sendMessage", 502, "Bad Gateway", retry_after=None)
    bot.fake.send_text(REQUESTER, "/start")
    await bot.settle()
    [waiting] = await _waiting(bot)
    assert waiting.attempts == 1 and "Bad Gateway" in (waiting.last_error or "")
    assert waiting.next_attempt_at > utcnow()
    await _due_now(bot)
    assert len(_texts(bot, REQUESTER)) == 1


@pytest.fixture
async def impatient(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[Harness]:
    """A bot that gives up on a Bot API call after one second."""
    harness = Harness(fake, bot_settings(settings, fake, telegram_timeout=timedelta(seconds=1)))
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_timed_out_send_is_retried_and_arrives_once(impatient: Harness) -> None:
    bot = impatient
    bot.fake.hang_next("sendMessage")
    bot.fake.send_text(REQUESTER, "/start")
    await bot.settle()
    [waiting] = await _waiting(bot)
    assert waiting.attempts == 1
    await _due_now(bot)
    assert len(_texts(bot, REQUESTER)) == 1


async def test_a_requester_who_blocked_the_bot_is_shown_to_the_admins(bot: Harness) -> None:
    number = await bot.submit_request()
    bot.fake.block(REQUESTER)
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()

    assert "tidak dapat dihubungi lewat bot" in bot.card().content
    alerts = [m for m in _texts(bot, GROUP) if "ditolak Telegram" in m]
    assert len(alerts) == 1 and number in alerts[0]
    async with bot.app.sessions() as session:
        events = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action == "requester_unreachable")
            )
        )
        failed = list(
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.failed_at.is_not(None))
            )
        )
    assert events == ["requester_unreachable"]
    assert failed == ["rejected"]  # given up, not retried for ever


async def test_an_edit_telegram_calls_not_modified_counts_as_done(bot: Harness) -> None:
    await bot.submit_request()
    card = bot.card()
    ticket_id = (
        await bot.app.services.tickets.for_requester(channel="telegram", chat_id=str(REQUESTER))
    )[0].id
    async with bot.app.sessions.begin() as session:  # a retry of an edit already made
        session.add(OutboxMessage(ticket_id=ticket_id, audience="admins", kind="card"))
    since = len(bot.fake.calls)
    await bot.pipeline.sender.flush()

    edits = [c for c in bot.fake.calls[since:] if c.method == "editMessageText"]
    assert [(c.ok, c.description) for c in edits] == [
        (False, edits[0].description)
    ] and "not modified" in (edits[0].description or "")
    assert await _waiting(bot) == []
    assert bot.card().content == card.content


class Clock:
    """The pace's clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def paced(
    fake: FakeBotApi, settings: Settings, engine: object, clock: Clock
) -> AsyncIterator[Harness]:
    """A bot that keeps Telegram's real pace."""
    harness = Harness(fake, bot_settings(settings, fake), limits=TELEGRAM_LIMITS, clock=clock)
    await harness.start()
    yield harness
    await harness.stop()


async def _queue_replies(bot: Harness, chat_id: str, texts: list[str]) -> None:
    sealer = bot.app.sealer
    async with bot.app.sessions.begin() as session:
        for text in texts:
            sealed = sealer.seal(
                json.dumps(reply_to_dict(Reply(text))).encode(), reply_context(chat_id)
            )
            bot.app.outbox.add_reply(session, "telegram", chat_id, sealed)


async def test_a_private_chat_gets_about_one_message_a_second_in_order(
    paced: Harness, clock: Clock
) -> None:
    bot = paced
    bot.fake.users[REQUESTER].started = True  # the requester has opened the bot before
    await _queue_replies(bot, str(REQUESTER), [f"pesan {i}" for i in range(6)])
    await bot.pipeline.sender.flush()

    shown = [m for m in _texts(bot, REQUESTER) if m.startswith("pesan")]
    assert shown == ["pesan 0", "pesan 1", "pesan 2"]  # a burst of three, then wait
    first, *rest = await _waiting(bot)
    assert 0 < (first.next_attempt_at - utcnow()).total_seconds() <= 3
    assert len(rest) == 2
    await bot.pipeline.sender.flush()  # the later ones wait behind the first: no overtaking
    assert len([m for m in _texts(bot, REQUESTER) if m.startswith("pesan")]) == 3
    clock.now += timedelta(seconds=3)
    await _due_now(bot)
    shown = [m for m in _texts(bot, REQUESTER) if m.startswith("pesan")]
    assert shown == [f"pesan {i}" for i in range(6)]  # the rest, in order, once


async def test_the_admin_group_gets_at_most_twenty_messages_a_minute(paced: Harness) -> None:
    bot = paced
    await _queue_replies(bot, str(GROUP), [f"catatan {i}" for i in range(23)])
    await bot.pipeline.sender.flush()

    shown = [m for m in _texts(bot, GROUP) if m.startswith("catatan")]
    assert shown == [f"catatan {i}" for i in range(20)]
    first, *rest = await _waiting(bot)
    assert 0 < (first.next_attempt_at - utcnow()).total_seconds() <= 60
    assert len(rest) == 2


async def test_a_tap_is_answered_within_a_second_even_when_handling_is_slow(
    bot: Harness,
) -> None:
    await bot.say(REQUESTER, "/start")
    menu = bot.with_button(REQUESTER, "Ajukan permohonan")
    release = asyncio.Event()
    real_handle = bot.pipeline.router.handle

    async def slow_handle(inc: Incoming) -> Response:
        await release.wait()  # the database is slow today
        return await real_handle(inc)

    bot.pipeline.router.handle = slow_handle  # type: ignore[method-assign]
    since = len(bot.fake.calls)
    update = bot.fake.press_button(REQUESTER, menu, menu.button("Ajukan permohonan"))
    query_id = update["callback_query"]["id"]
    try:
        answer = await bot.fake.wait_for_call(
            "answerCallbackQuery",
            lambda c: c.params["callback_query_id"] == query_id,
            since=since,
        )
        handed = await bot.fake.wait_for_call(  # when the bot received the tap
            "getUpdates", lambda c: bool(c.result), since=since
        )
        assert answer.time - handed.time < 1.0
    finally:
        release.set()
    await bot.settle()

    answers = [
        c
        for c in bot.fake.calls_of("answerCallbackQuery")
        if c.params["callback_query_id"] == query_id
    ]
    assert len(answers) == 1  # answered once, early; the step itself still happened
    assert "Langkah 1/10" in bot.last(REQUESTER).content


async def test_the_admin_group_upgraded_to_a_supergroup_is_followed(bot: Harness) -> None:
    new_group = bot.fake.migrate_group(GROUP, by_user=ADMIN)
    await bot.settle()
    notices = _texts(bot, new_group)
    assert len(notices) == 1 and str(new_group) in notices[0]
    assert bot.pipeline.messengers.admin_chat_id == str(new_group)

    await bot.restart()  # the move is remembered, not only in this process
    await bot.submit_request()
    cards = [m for m in _texts(bot, new_group) if m.startswith("🎫 Tiket")]
    assert len(cards) == 1
    assert not any(m.startswith("🎫 Tiket") for m in _texts(bot, GROUP))


async def test_the_bot_leaves_any_group_but_the_admin_group(bot: Harness) -> None:
    bot.fake.add_bot_to_group(-4242, "Grup arisan", by_user=STRANGER)
    await bot.settle()
    left = [c.params["chat_id"] for c in bot.fake.calls_of("leaveChat")]
    assert left == [-4242]
    assert bot.fake.chat_messages(-4242) == []
    assert bot.fake.calls_of("leaveChat") and not any(
        c.params["chat_id"] == GROUP for c in bot.fake.calls_of("leaveChat")
    )


async def test_a_slow_update_holds_up_its_own_chat_only(bot: Harness) -> None:
    release = asyncio.Event()
    real_handle = bot.pipeline.router.handle

    async def handle(inc: Incoming) -> Response:
        if inc.chat_id == str(REQUESTER):
            await release.wait()  # a 20 MB upload on a bad line
        return await real_handle(inc)

    bot.pipeline.router.handle = handle  # type: ignore[method-assign]
    try:
        bot.fake.send_text(REQUESTER, "/start")
        await bot.fake.wait_for_updates_consumed()
        bot.fake.send_text(OTHER_REQUESTER, "/start")
        await bot.fake.wait_until(lambda: bool(bot.fake.chat_messages(OTHER_REQUESTER)), 5)
        assert bot.fake.chat_messages(REQUESTER) == []  # still busy; nobody waits for it
    finally:
        release.set()
    await bot.settle()
    assert "Pilih menu" in bot.last(REQUESTER).content


async def test_a_polled_update_that_cannot_be_stored_is_skipped_and_polling_goes_on(
    bot: Harness,
) -> None:
    too_long = 10**80  # a chat id longer than the inbox's column (and outside 64 bits)
    bad = bot.fake.inject_update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": too_long, "type": "private", "first_name": "X"},
                "from": {"id": too_long, "is_bot": False, "first_name": "X"},
                "text": "/start",
            }
        }
    )
    bot.fake.send_text(REQUESTER, "/start")
    await bot.settle()
    assert "Pilih menu" in bot.last(REQUESTER).content
    assert await bot.pipeline.inbox.outcomes("telegram", [str(bad["update_id"])]) == {}
