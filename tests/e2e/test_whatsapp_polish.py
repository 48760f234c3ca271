"""What a WhatsApp requester notices beyond the dialog itself: one tap gives one message,
their message shows read while the bot types, the phone is asked with WhatsApp's own button,
and the steps are numbered as they go through them. End to end through the fake Graph API,
as tests/e2e/test_whatsapp_requester.py composes it; Telegram's side unchanged."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatbot.app import App, whatsapp_requesters
from chatbot.settings import Settings
from tests.e2e.harness import REQUESTER, UNPACED, Harness
from tests.e2e.test_whatsapp_identity import (
    BSUID,
    PLACEHOLDER,
    bsuid_documents_and_summary,
    bsuid_until_phone,
    from_user_id_only,
)
from tests.e2e.test_whatsapp_requester import (
    APP_SECRET,
    BUDI,
    WhatsAppHarness,
    text_of,
    whatsapp_settings,
)
from tests.factories import pdf_bytes, png_bytes
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


# ---- a sender without a number: WhatsApp's contact button --------------------------------------


async def test_a_sender_without_a_number_gets_whatsapps_contact_button(
    wa: WhatsAppHarness,
) -> None:
    await bsuid_until_phone(wa)
    asked = wa.graph.last_sent(BSUID)
    assert asked.type == "interactive" and asked.payload["type"] == "request_contact_info"
    assert "Bagikan nomor saya" not in text_of(asked)  # Telegram's button is not named
    card = wa.graph.contact_message(PLACEHOLDER, "+62 812-3456-7890", "Budi", requested=True)
    await from_user_id_only(wa, card)
    summary = await bsuid_documents_and_summary(wa)
    assert "HP: +6281234567890 (terverifikasi)" in summary, summary


async def test_a_file_at_the_phone_step_is_told_once_with_the_button_again(
    wa: WhatsAppHarness,
) -> None:
    await bsuid_until_phone(wa)
    shown = len(wa.graph.sent_to(BSUID))
    await from_user_id_only(wa, wa.graph.image_message(PLACEHOLDER, png_bytes(5), "image/png"))
    [again] = wa.graph.sent_to(BSUID)[shown:]
    assert again.payload["type"] == "request_contact_info"
    assert "Bagikan nomor saya" not in text_of(again)
    assert text_of(again).count("Ketuk tombol di bawah") == 2  # the hint, then the question


async def test_telegram_still_shows_its_share_button(bot: Harness) -> None:
    await bot.say(REQUESTER, "/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await bot.press(REQUESTER, label)
    for text in ("Budi Santoso", "198503122010011004", "Dinas PU"):
        await bot.say(REQUESTER, text)
    await bot.press(REQUESTER, "Lewati")
    asked = await bot.say(REQUESTER, "budi@magelangkota.go.id")
    assert "Bagikan nomor saya" in asked.content and "Langkah 8/10" in asked.content


# ---- step numbers ------------------------------------------------------------------------------


def step_number(text: str) -> str:
    match = re.search(r"Langkah (\d+/\d+)", text)
    assert match, text
    return match.group(1)


async def test_a_whatsapp_requester_counts_the_steps_they_go_through(
    wa: WhatsAppHarness,
) -> None:
    await wa.says("/start")
    seen = [step_number(text_of(await wa.taps("Ajukan permohonan")))]
    seen.append(step_number(text_of(await wa.taps("Reset password"))))
    seen.append(step_number(text_of(await wa.taps("PPK"))))
    for text in ("Budi Santoso", "1985 0312 2010 01 1 004", "Dinas Pekerjaan Umum"):
        seen.append(step_number(text_of(await wa.says(text))))
    seen.append(step_number(text_of(await wa.taps("Lewati"))))
    seen.append(step_number(text_of(await wa.says("budi@magelangkota.go.id"))))
    await wa.sends_file(pdf_bytes("Surat"), "surat.pdf", "application/pdf")
    seen.append(step_number(text_of(await wa.taps("Selesai"))))
    assert seen == [f"{n}/9" for n in range(1, 10)]  # the phone is the sender's: not a step


async def test_a_whatsapp_sender_without_a_number_has_ten_steps(wa: WhatsAppHarness) -> None:
    asked = await bsuid_until_phone(wa)
    assert "Langkah 8/10" in asked


async def test_telegram_counts_ten_steps_as_before(bot: Harness) -> None:
    await bot.say(REQUESTER, "/start")
    seen = []
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await bot.press(REQUESTER, label)
        seen.append(step_number(bot.last(REQUESTER).content))
    for text in ("Budi Santoso", "198503122010011004", "Dinas PU"):
        seen.append(step_number((await bot.say(REQUESTER, text)).content))
    await bot.press(REQUESTER, "Lewati")
    seen.append(step_number(bot.last(REQUESTER).content))
    seen.append(step_number((await bot.say(REQUESTER, "budi@magelangkota.go.id")).content))
    bot.fake.send_contact(REQUESTER, "081234567890", contact_user_id=REQUESTER)
    await bot.settle()
    seen.append(step_number(bot.last(REQUESTER).content))
    await bot.upload_pdf(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    seen.append(step_number(bot.last(REQUESTER).content))
    assert seen == [f"{n}/10" for n in range(1, 11)]
