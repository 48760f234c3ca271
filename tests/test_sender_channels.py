"""The outbox sender picks each row's messenger: the admins' rows go to the admin channel,
a requester's row (a notice, a reply) to the channel the requester wrote on, and a row on a
channel this process does not run waits for it instead of failing."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations.context import Services
from chatbot.conversations.messages import Reply, reply_to_dict
from chatbot.conversations.messengers import Messengers
from chatbot.db.models import OutboxMessage, utcnow
from chatbot.pipeline.handling import reply_context
from chatbot.pipeline.sender import OutboxSender
from chatbot.services.enums import MissingItem, RequestType
from chatbot.services.notices import NoticeKind
from chatbot.services.outbox import Outbox
from chatbot.services.sealing import Sealer
from tests.factories import ADMIN, REQUESTER, documents, identity
from tests.fakes.channel import FakeMessenger

ADMIN_CHAT = "-100500"  # the settings fixture's admin group
PERSON = "6281234567001"  # a requester on the fake channel
ELSEWHERE = "6289900000002"  # a requester on a channel not running here
SEALER = Sealer.from_secret("a test secret", "inbox")


def messengers(**channels: FakeMessenger) -> Messengers:
    return Messengers(channels, "telegram", lambda: ADMIN_CHAT)


async def queue_reply(
    sessions: async_sessionmaker[AsyncSession], channel: str, chat_id: str, text: str
) -> None:
    """A dialog's reply, queued as Handling queues it (sealed for its chat)."""
    sealed = SEALER.seal(json.dumps(reply_to_dict(Reply(text))).encode(), reply_context(chat_id))
    async with sessions.begin() as session:
        Outbox.add_reply(session, channel, chat_id, sealed)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_requester_rows_go_to_the_requesters_channel_and_admin_rows_to_telegram(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    telegram, fakechat = FakeMessenger(), FakeMessenger()
    sender = OutboxSender(
        services, Outbox(sessions), messengers(telegram=telegram, fakechat=fakechat), SEALER
    )
    tickets = services.tickets
    ticket = await tickets.submit(
        channel="fakechat",
        chat_id=PERSON,
        actor=REQUESTER,
        identity=identity(),
        request_type=RequestType.RESET_PASSWORD,
        documents=documents(services.files),
    )
    await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.SK],
        note=None,
    )
    await queue_reply(sessions, "fakechat", PERSON, "Balasan untuk pemohon")

    assert await sender.flush() == 4  # documents + card, the notice, the card edit, the reply

    # The admins' rows: the documents and one card (rendered as it stands now) in the group,
    # on Telegram.
    assert list(telegram.chats) == [ADMIN_CHAT]
    group = telegram.shown(ADMIN_CHAT)
    assert [m.file is not None for m in group] == [True, True, True, False]
    card = group[-1]
    assert card.text.startswith(f"🎫 Tiket {ticket.number}")
    assert "menunggu pemohon melengkapi" in card.text
    # The requester's rows: the notice and the reply in the requester's chat, on fakechat.
    assert list(fakechat.chats) == [PERSON]
    notice, reply = fakechat.texts(PERSON)
    assert str(ticket.number) in notice and "belum lengkap" in notice
    assert "SK pengangkatan" in notice
    assert reply == "Balasan untuk pemohon"
    kinds = [(r.kind, r.channel, r.sent_at is not None) for r in await rows(sessions)]
    assert (NoticeKind.INCOMPLETE, "fakechat", True) in kinds
    assert all(sent for _, _, sent in kinds)


async def test_a_row_on_a_channel_not_running_waits_and_holds_up_no_other_chat(
    services: Services, sessions: async_sessionmaker[AsyncSession]
) -> None:
    telegram, fakechat = FakeMessenger(), FakeMessenger()
    outbox = Outbox(sessions)
    sender = OutboxSender(
        services, outbox, messengers(telegram=telegram, fakechat=fakechat), SEALER
    )
    await queue_reply(sessions, "whatsapp", ELSEWHERE, "Untuk WhatsApp")
    await queue_reply(sessions, "fakechat", PERSON, "Untuk fakechat")

    assert await sender.flush() == 1
    assert fakechat.texts(PERSON) == ["Untuk fakechat"]
    waiting, sent = await rows(sessions)
    assert sent.sent_at is not None
    # Not delivered and not given up: UnknownChannel is a passing failure, retried later.
    assert waiting.channel == "whatsapp"
    assert waiting.sent_at is None and waiting.failed_at is None
    assert waiting.attempts == 1 and "whatsapp" in str(waiting.last_error)
    assert waiting.next_attempt_at > utcnow()
    assert waiting.sealed is not None  # its content kept for the retry

    # Once a process runs that channel, the row goes out when it is due.
    async with sessions.begin() as session:
        row = await session.get(OutboxMessage, waiting.id)
        assert row is not None
        row.next_attempt_at = utcnow()
    whatsapp = FakeMessenger()
    later = OutboxSender(
        services,
        outbox,
        messengers(telegram=telegram, fakechat=fakechat, whatsapp=whatsapp),
        SEALER,
    )
    assert await later.flush() == 1
    assert whatsapp.texts(ELSEWHERE) == ["Untuk WhatsApp"]
    assert telegram.chats == {}
