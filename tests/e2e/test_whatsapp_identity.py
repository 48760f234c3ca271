"""Who a WhatsApp requester is: the number that writes is their verified phone; a sender
known only by a business-scoped user id is asked for it; a changed number moves them.
End to end through the fake Graph API, as tests/e2e/test_whatsapp_requester.py composes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatbot.app import App, whatsapp_requesters
from chatbot.services.chats import ChatMigrations
from chatbot.settings import Settings
from tests.e2e.harness import ADMIN, GROUP, UNPACED, Harness
from tests.e2e.test_whatsapp_requester import (
    APP_SECRET,
    BUDI,
    WhatsAppHarness,
    choices,
    submit,
    text_of,
    whatsapp_settings,
)
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.graph_api_webhooks import InboundMessage

BSUID = "ID.3713258114440669556"


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(app_secret=APP_SECRET, api_version="v23.0") as graph:
        yield graph
        graph.assert_no_violations()


def composed(fake: FakeBotApi, graph: FakeGraphApi, settings: Settings) -> WhatsAppHarness:
    def requesters(app: App) -> Any:
        return whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())

    harness = Harness(fake, settings, requesters=requesters)
    return WhatsAppHarness(harness, graph)


@pytest.fixture
async def wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object
) -> AsyncIterator[WhatsAppHarness]:
    bot = composed(fake, graph, whatsapp_settings(settings, fake, graph))
    await bot.start()
    yield bot
    await bot.stop()


@pytest.fixture
async def bound_wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object
) -> AsyncIterator[WhatsAppHarness]:
    """WEBAPP_BINDING on: Telegram requesters' links are Web Apps."""
    bound = whatsapp_settings(settings, fake, graph).model_copy(update={"webapp_binding": True})
    bot = composed(fake, graph, bound)
    await bot.start()
    yield bot
    await bot.stop()


async def until_email(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await wa.taps(label)
    for text in ("Budi Santoso", "1985 0312 2010 01 1 004", "Dinas Pekerjaan Umum"):
        await wa.says(text)
    await wa.taps("Lewati")


async def documents_and_summary(wa: WhatsAppHarness) -> str:
    await wa.sends_file(pdf_bytes("Surat"), "surat.pdf", "application/pdf")
    await wa.taps("Selesai")
    await wa.sends_file(png_bytes(10), "sk.png", "image/png")
    return text_of(await wa.taps("Selesai"))


# ---- the number that writes is the phone ----------------------------------------------------


async def test_the_senders_number_is_the_verified_phone_and_not_asked(
    wa: WhatsAppHarness,
) -> None:
    await until_email(wa)
    asked = await wa.says("budi@magelangkota.go.id")
    assert "surat permohonan" in text_of(asked).lower()  # straight to the letter
    sent = [text_of(m) for m in wa.graph.sent_to(BUDI)]
    assert not any("nomor HP" in text for text in sent), sent

    summary = await documents_and_summary(wa)
    assert f"HP: +{BUDI} (terverifikasi)" in summary, summary
    receipt = await wa.taps("Kirim permohonan")
    assert "nomor tiket" in text_of(receipt)

    [ticket] = await wa.app.services.tickets.for_requester(channel="whatsapp", chat_id=BUDI)
    assert (ticket.phone, ticket.phone_verified) == (f"+{BUDI}", True)


async def test_change_data_does_not_offer_the_phone_the_platform_gave(
    wa: WhatsAppHarness,
) -> None:
    await until_email(wa)
    await wa.says("budi@magelangkota.go.id")
    await documents_and_summary(wa)
    fields = await wa.taps("Ubah data")
    titles = [title for _, title, _ in choices(fields)]
    assert "Email" in titles and "Nomor HP" not in titles, titles


# ---- a sender with no number: asked ----------------------------------------------------------

PLACEHOLDER = "6280000000000"  # builds a message with the fake's helpers; then taken out


async def from_user_id_only(wa: WhatsAppHarness, built: InboundMessage) -> str:
    """Deliver a message the fake built as one from a username user (a business-scoped user
    id, no number); the bot's last message to them."""
    graph = wa.graph
    message = {k: v for k, v in built.message.items() if k != "from"}
    message["from_user_id"] = BSUID
    graph.last_inbound[BSUID] = graph.now()  # the fake's 24-hour window, by recipient
    await graph.deliver(InboundMessage({"profile": {"name": "Budi"}, "user_id": BSUID}, message))
    await wa.settle()
    return text_of(graph.last_sent(BSUID))


async def bsuid_says(wa: WhatsAppHarness, text: str) -> str:
    return await from_user_id_only(wa, wa.graph.text_message(PLACEHOLDER, text))


async def bsuid_taps(wa: WhatsAppHarness, label: str) -> str:
    for sent in reversed(wa.graph.sent_to(BSUID)):
        for reply_id, title, is_row in choices(sent):
            if label in title:
                graph = wa.graph
                built = (
                    graph.list_message(PLACEHOLDER, reply_id, title[:24], to_wamid=sent.wamid)
                    if is_row
                    else graph.button_message(PLACEHOLDER, reply_id, title, to_wamid=sent.wamid)
                )
                return await from_user_id_only(wa, built)
    raise AssertionError(f"no choice {label!r} was sent to {BSUID}")


async def bsuid_until_phone(wa: WhatsAppHarness) -> str:
    await bsuid_says(wa, "/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await bsuid_taps(wa, label)
    for text in ("Budi Santoso", "1985 0312 2010 01 1 004", "Dinas Pekerjaan Umum"):
        await bsuid_says(wa, text)
    await bsuid_taps(wa, "Lewati")
    return await bsuid_says(wa, "budi@magelangkota.go.id")


async def bsuid_documents_and_summary(wa: WhatsAppHarness) -> str:
    graph = wa.graph
    pdf = graph.document_message(PLACEHOLDER, pdf_bytes("Surat"), "surat.pdf", "application/pdf")
    await from_user_id_only(wa, pdf)
    await bsuid_taps(wa, "Selesai")
    await from_user_id_only(wa, graph.image_message(PLACEHOLDER, png_bytes(10), "image/png"))
    return await bsuid_taps(wa, "Selesai")


async def test_a_sender_without_a_number_is_asked_and_a_typed_one_is_unverified(
    wa: WhatsAppHarness,
) -> None:
    asked = await bsuid_until_phone(wa)
    assert "*nomor HP*" in asked and "ketik nomor HP Anda" in asked, asked
    letter = await bsuid_says(wa, "0812 3456 7890")
    assert "surat permohonan" in letter.lower()
    summary = await bsuid_documents_and_summary(wa)
    assert "HP: +6281234567890 (belum terverifikasi)" in summary, summary


async def test_a_requested_contact_card_is_the_senders_verified_number(
    wa: WhatsAppHarness,
) -> None:
    await bsuid_until_phone(wa)
    card = wa.graph.contact_message(PLACEHOLDER, "+62 812-3456-7890", "Budi", requested=True)
    letter = await from_user_id_only(wa, card)
    assert "surat permohonan" in letter.lower()
    summary = await bsuid_documents_and_summary(wa)
    assert "HP: +6281234567890 (terverifikasi)" in summary, summary
    await bsuid_taps(wa, "Kirim permohonan")
    [ticket] = await wa.app.services.tickets.for_requester(channel="whatsapp", chat_id=BSUID)
    assert (ticket.phone, ticket.phone_verified) == ("+6281234567890", True)


# ---- what the admins see, and the link with WEBAPP_BINDING ----------------------------------

SECRET = "Rahasia2026x"


async def test_the_card_says_the_requester_writes_on_whatsapp(wa: WhatsAppHarness) -> None:
    number = await submit(wa)
    card = wa.harness.card().content
    assert f"Tiket {number}" in card
    assert "Pemohon: Budi Santoso (PPK) · via WhatsApp" in card, card


async def test_the_unreachable_alert_names_whatsapp(wa: WhatsAppHarness) -> None:
    number = await submit(wa)
    wa.graph.make_undeliverable(BUDI)
    bot = wa.harness
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()
    await wa.settle()
    alerts = [text for text in bot.texts(GROUP) if text.startswith("📵")]
    assert alerts and all(f"tiket {number} ditolak WhatsApp" in a for a in alerts), alerts
    assert not any("Telegram" in a for a in alerts)


async def test_with_binding_a_whatsapp_requesters_link_is_a_cta_that_opens(
    bound_wa: WhatsAppHarness,
) -> None:
    wa = bound_wa
    number = await submit(wa)
    bot = wa.harness
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, SECRET)
    await wa.settle()

    message = wa.graph.last_sent(BUDI)
    assert message.type == "interactive" and message.payload["type"] == "cta_url"
    assert number in text_of(message) and "Telegram" not in text_of(message)
    parts = urlsplit(message.payload["action"]["parameters"]["url"])
    link_id, key = parts.path.rsplit("/", 1)[1], parts.fragment

    response = await bot.reveal(link_id, key)  # a plain browser: no Telegram init data
    assert response.status_code == 200, response.text
    assert SECRET in bot.decrypt(response, key).values()


# ---- a changed number moves the requester ----------------------------------------------------

NEW_NUMBER = "6281299998888"


async def test_a_changed_number_moves_the_requester_and_their_open_ticket(
    wa: WhatsAppHarness,
) -> None:
    number = await submit(wa)
    said = len(wa.graph.sent)
    await wa.graph.deliver(wa.graph.number_change_message(BUDI, NEW_NUMBER))
    await wa.settle()
    assert len(wa.graph.sent) == said  # nothing said: the new number's window is not open

    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None
    assert (ticket.requester.channel, ticket.requester.chat_id) == ("whatsapp", NEW_NUMBER)
    assert (ticket.phone, ticket.phone_verified) == (f"+{NEW_NUMBER}", True)
    assert (ticket.requester.phone, ticket.requester.phone_verified) == (f"+{NEW_NUMBER}", True)
    assert f"HP: +{NEW_NUMBER} ✅" in wa.harness.card().content  # the card was refreshed
    moves = ChatMigrations(wa.app.sessions)
    assert await moves.resolve("whatsapp", BUDI) == NEW_NUMBER

    # The new number is the same requester: their ticket, and the admins' answers reach it.
    await wa.graph.user_sends_text(NEW_NUMBER, "status")
    await wa.settle()
    assert number in text_of(wa.graph.last_sent(NEW_NUMBER))
    bot = wa.harness
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()
    await wa.settle()
    rejected = text_of(wa.graph.last_sent(NEW_NUMBER))
    assert number in rejected and "ditolak" in rejected, rejected


async def test_a_changed_number_carries_the_dialog_in_progress(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await wa.taps(label)
    await wa.graph.deliver(wa.graph.number_change_message(BUDI, NEW_NUMBER))
    await wa.settle()
    await wa.graph.user_sends_text(NEW_NUMBER, "Budi Santoso")
    await wa.settle()
    assert "Langkah 4/9" in text_of(wa.graph.last_sent(NEW_NUMBER))  # the NIP, next


async def test_a_changed_number_of_a_stranger_is_only_recorded(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    said = len(wa.graph.sent)
    await wa.graph.deliver(wa.graph.number_change_message(BUDI, NEW_NUMBER))
    await wa.settle()
    assert len(wa.graph.sent) == said
    assert await ChatMigrations(wa.app.sessions).resolve("whatsapp", BUDI) == NEW_NUMBER
    assert await wa.app.services.tickets.for_requester(channel="whatsapp", chat_id=NEW_NUMBER) == []
