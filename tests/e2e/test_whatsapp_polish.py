"""What a WhatsApp requester notices beyond the dialog itself: one tap gives one message,
their message shows read while the bot types, the phone is asked with WhatsApp's own button,
and the steps are numbered as they go through them. End to end through the fake Graph API,
as tests/e2e/test_whatsapp_requester.py composes it; Telegram's side unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatbot.app import App, whatsapp_requesters
from chatbot.settings import Settings
from tests.e2e.harness import REQUESTER, UNPACED, Harness
from tests.e2e.test_whatsapp_requester import (
    APP_SECRET,
    BUDI,
    WhatsAppHarness,
    text_of,
    whatsapp_settings,
)
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(app_secret=APP_SECRET, api_version="v23.0") as graph:
        yield graph
        graph.assert_no_violations()


@pytest.fixture
async def wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object
) -> AsyncIterator[WhatsAppHarness]:
    def requesters(app: App) -> Any:
        return whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())

    harness = Harness(fake, whatsapp_settings(settings, fake, graph), requesters=requesters)
    bot = WhatsAppHarness(harness, graph)
    await bot.start()
    yield bot
    await bot.stop()


async def to_nip(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await wa.taps(label)
    await wa.says("Budi Santoso")


# ---- one tap, one message ------------------------------------------------------------------


async def test_a_refused_answer_and_its_question_again_are_one_whatsapp_message(
    wa: WhatsAppHarness,
) -> None:
    await to_nip(wa)
    shown = len(wa.graph.sent_to(BUDI))
    await wa.says("19850312201001100")  # 17 digits
    new = wa.graph.sent_to(BUDI)[shown:]
    assert len(new) == 1
    body = text_of(new[0])
    assert body.index("18 angka") < body.index("Ketik *NIP*")  # the reason, then the question
    assert "⚠️" in body and "\n\n" in body


async def test_telegram_still_gets_the_reason_and_the_question_apart(bot: Harness) -> None:
    await bot.say(REQUESTER, "/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await bot.press(REQUESTER, label)
    await bot.say(REQUESTER, "Budi Santoso")
    shown = len(bot.texts(REQUESTER))
    await bot.say(REQUESTER, "19850312201001100")
    new = bot.texts(REQUESTER)[shown:]
    assert len(new) == 2
    assert "18 angka" in new[0] and "Ketik NIP" in new[1]


# ---- read receipts and typing ----------------------------------------------------------------


async def test_the_requesters_message_shows_read_with_typing_while_answered(
    wa: WhatsAppHarness,
) -> None:
    message = wa.graph.text_message(BUDI, "/start")
    await wa.graph.deliver(message)
    await wa.settle()
    assert (message.message["id"], True) in wa.graph.read_receipts
    assert "Pilih menu" in text_of(wa.graph.last_sent(BUDI))


async def test_a_refused_read_receipt_does_not_stop_the_answer(wa: WhatsAppHarness) -> None:
    wa.graph.fail_next_read(131000, status=500)
    menu = await wa.says("/start")
    assert "Pilih menu" in text_of(menu)
    assert wa.graph.read_receipts == []
    [refused] = wa.graph.calls_to("/messages", "POST")[:1]
    assert refused.error_code == 131000  # asked, refused, and the answer went out anyway
