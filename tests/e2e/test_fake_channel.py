"""A requester on another channel (the in-memory fake), the admins on Telegram, one pipeline.

The requester's updates go inbox -> worker -> router -> outbox -> sender with no Telegram at
all; the admins act in the fake Bot API's group as they always do, and what they decide
reaches the requester on the channel the requester wrote on. Each dialog is a transcript:
what the person did, and what the chat showed in answer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from chatbot.conversations.messages import Keyboard
from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.e2e.harness import ADMIN, ADMIN_2, GROUP, Harness, bot_settings
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.channel import CHANNEL, Contact, FakeChannel, Said, Tap, Upload, link_in

PERSON = "6281234567001"  # a chat on the fake channel (a phone number, as on WhatsApp)
PASSWORD = "Rahasia#2026baru"

INTAKE: list[tuple[Said, str]] = [
    ("/start", "Pilih menu"),
    (Tap("Ajukan permohonan"), "Langkah 1/10. Apa yang Anda perlukan?"),
    (Tap("Reset password"), "Langkah 2/10. Anda bertugas sebagai"),
    (Tap("PPK"), "Ketik nama lengkap Anda"),
    ("Budi Santoso", "Ketik NIP Anda"),
    ("1985 0312 2010 01 1 004", "Ketik unit kerja"),
    ("Dinas Pekerjaan Umum", "Ketik user ID SPSE Anda jika ingat"),
    (Tap("Lewati"), "Ketik alamat email dinas Anda"),
    ("budi@magelangkota.go.id", "Bagikan nomor HP Anda"),
    (Contact("+62 812-3456-7890"), "Kirim surat permohonan"),
    (Upload(pdf_bytes("Surat"), "surat.pdf", "application/pdf"), "Surat permohonan: 1 file"),
    (Tap("Selesai"), "Kirim SK pengangkatan"),
    (Upload(png_bytes(10), "sk-1.png", "image/png", photo=True), "SK: 1 file diterima"),
    (Upload(png_bytes(20), "sk-2.png", "image/png", photo=True), "SK: 2 file diterima"),
    (Tap("Selesai"), "Periksa kembali permohonan Anda"),
    (Tap("Kirim permohonan"), "Permohonan diterima dengan nomor tiket"),
]


@pytest.fixture
def fakechat() -> FakeChannel:
    return FakeChannel(names={PERSON: "Budi"})


@pytest.fixture
async def bot(
    fake: FakeBotApi, settings: Settings, engine: object, fakechat: FakeChannel
) -> AsyncIterator[Harness]:
    """Telegram (the admins) and the fake channel (the requester) on one pipeline."""
    harness = Harness(
        fake, bot_settings(settings, fake), requesters=[(fakechat, fakechat.messenger)]
    )
    fakechat.connect(lambda: harness.pipeline)
    await harness.start()
    yield harness
    assert_nothing_on_telegram_for(harness, PERSON)
    await harness.stop()


def assert_nothing_on_telegram_for(bot: Harness, chat: str) -> None:
    """The requester has no Telegram chat: no call named it, only the admins' chats exist."""
    assert int(chat) not in bot.fake.messages
    assert chat not in {str(call.params.get("chat_id")) for call in bot.fake.calls}
    assert set(bot.fake.messages) <= {GROUP, ADMIN, ADMIN_2}


async def submit(fakechat: FakeChannel) -> str:
    """The whole intake on the fake channel; the ticket number it answers with."""
    answer = await fakechat.transcript(PERSON, INTAKE)
    match = re.search(r"nomor tiket (\d{4}-\d{4,})", answer[-1].text)
    assert match, answer[-1].text
    return match.group(1)


async def test_a_whole_request_on_the_fake_channel_reaches_the_admin_group(
    bot: Harness, fakechat: FakeChannel
) -> None:
    chat = fakechat.messenger
    await fakechat.transcript(PERSON, INTAKE[:9])
    assert chat.last(PERSON).keyboard is Keyboard.SHARE_CONTACT
    answer = await fakechat.transcript(PERSON, INTAKE[9:15])
    summary = answer[-1]
    assert "HP: +6281234567890 (terverifikasi)" in summary.text
    assert "Surat permohonan: 1 file" in summary.text and "SK: 2 file" in summary.text
    assert summary.buttons == ["✅ Kirim permohonan", "✏️ Ubah data", "✖️ Batal"]
    receipt = (await fakechat.transcript(PERSON, INTAKE[15:]))[-1]
    assert "Anda akan diberi kabar di chat ini" in receipt.text
    number = re.findall(r"\d{4}-\d{4,}", receipt.text)[0]

    # The group got the documents and the card, exactly as for a Telegram requester.
    card = bot.card()
    assert f"Tiket {number}" in card.content
    assert "Budi Santoso" in card.content and "19850312 201001 1 004" in card.content
    assert "HP: +6281234567890 ✅" in card.content
    assert card.buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]
    assert len([m for m in bot.fake.chat_messages(GROUP) if m.document or m.photo]) == 3
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.SUBMITTED
    assert (ticket.requester.channel, ticket.requester.chat_id) == (CHANNEL, PERSON)


async def test_status_and_cancel_on_the_fake_channel(bot: Harness, fakechat: FakeChannel) -> None:
    await fakechat.transcript(PERSON, [("/status", "belum punya tiket")])
    number = await submit(fakechat)
    for asked in ("/status", "status", number, number.replace("-", "")):
        answer = await fakechat.transcript(PERSON, [(asked, number)])
        assert "Menunggu pemeriksaan kelengkapan" in answer[-1].text, asked

    await fakechat.transcript(PERSON, [(Tap("Batalkan"), "")])
    question = fakechat.messenger.with_button(PERSON, "Ya, batalkan")
    assert question.buttons == ["Ya, batalkan", "« Kembali"]
    assert await fakechat.press(PERSON, "Kembali") == "Tiket tidak dibatalkan."
    await fakechat.transcript(
        PERSON, [(Tap("Batalkan"), ""), (Tap("Ya, batalkan"), f"Tiket {number} dibatalkan")]
    )
    assert bot.card().buttons() == []
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.ARCHIVED
    assert ticket.outcome == "cancelled"


async def test_batal_drops_a_half_filled_request_on_the_fake_channel(
    bot: Harness, fakechat: FakeChannel
) -> None:
    await fakechat.transcript(
        PERSON,
        [
            *INTAKE[:4],
            ("Budi Santoso", "Ketik NIP Anda"),
            ("/batal", "dibatalkan"),
            ("/batal", "Tidak ada pengisian"),
        ],
    )


async def test_a_supplement_asked_on_telegram_is_sent_on_the_fake_channel(
    bot: Harness, fakechat: FakeChannel
) -> None:
    number = await submit(fakechat)
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK pengangkatan", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())

    notice = fakechat.messenger.last(PERSON)
    assert number in notice.text and "belum lengkap" in notice.text
    assert "SK pengangkatan" in notice.text and "Surat permohonan" not in notice.text
    assert "📎 Lengkapi" in notice.buttons
    assert "menunggu pemohon melengkapi" in bot.card().content.lower()

    await fakechat.transcript(
        PERSON,
        [
            (Tap("Lengkapi"), "SK pengangkatan"),
            (Upload(pdf_bytes("SK bertanda tangan"), "sk.pdf", "application/pdf"), "SK: 1 file"),
            (Tap("Selesai"), "Kelengkapan tiket"),
            (Tap("Kirim kelengkapan"), "Kelengkapan tiket"),
        ],
    )
    card = bot.card()
    assert "cek kelengkapan lagi" in card.content and "putaran 2" in card.content
    assert card.buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]
    supplement = [m for m in bot.fake.chat_messages(GROUP) if m.document][-1]
    assert supplement.caption == f"{number} · SK hal. 1 · PERBAIKAN (putaran 2)"
    assert supplement.reply_to_message_id == card.message_id

    await bot.approve_to_valid()
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.VALID


async def test_the_requester_on_the_fake_channel_follows_the_admins_on_telegram(
    bot: Harness, fakechat: FakeChannel
) -> None:
    chat = fakechat.messenger
    number = await submit(fakechat)

    # Lengkap and Valid move the ticket without a message; /status shows where it stands.
    shown = len(chat.shown(PERSON))
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    assert len(chat.shown(PERSON)) == shown
    await fakechat.transcript(PERSON, [("/status", "Berkas lengkap, menunggu pemeriksaan")])
    shown = len(chat.shown(PERSON))
    await bot.press(ADMIN, "Valid", chat=GROUP, message=bot.card())
    assert len(chat.shown(PERSON)) == shown
    await fakechat.transcript(PERSON, [("/status", "Data valid, admin sedang memproses")])

    # The admin hands the result over in the private chat on Telegram; the one-time link
    # reaches the requester here, protected, without the password.
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, PASSWORD)
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    link = chat.last(PERSON)
    assert f"Hasil permohonan {number} sudah siap" in link.text
    assert link.protect and PASSWORD not in link.html
    _url, link_id, key = link_in(chat, PERSON)

    # Opening it sends the receipt here, with the confirmation buttons.
    revealed = await bot.reveal(link_id, key)
    assert bot.decrypt(revealed, key) == {"password": PASSWORD}
    receipt = chat.last(PERSON)
    assert re.search(r"dibuka \d+ \w+ \d{4} pukul \d\d\.\d\d WIB", receipt.text)
    assert receipt.buttons == ["✅ Sudah login", "🚨 Bukan saya"]
    assert "Link: dibuka" in bot.card().content

    await fakechat.transcript(PERSON, [(Tap("Sudah login"), "selesai dan diarsipkan")])
    await bot.pipeline.sender.flush()
    assert "Pemohon sudah login" in bot.card().content
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.ARCHIVED


async def test_a_rejection_on_telegram_reaches_the_fake_channel(
    bot: Harness, fakechat: FakeChannel
) -> None:
    number = await submit(fakechat)
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    notice = fakechat.messenger.last(PERSON)
    assert number in notice.text and "ditolak" in notice.text
    assert "SK tidak sah atau sudah tidak berlaku" in notice.text


async def test_a_restart_mid_conversation_loses_nothing_on_the_fake_channel(
    bot: Harness, fakechat: FakeChannel
) -> None:
    await fakechat.transcript(PERSON, INTAKE[:11])
    await bot.restart()
    await fakechat.transcript(PERSON, INTAKE[11:13])
    await bot.restart()
    answer = await fakechat.transcript(PERSON, INTAKE[13:])
    assert "nomor tiket" in answer[-1].text
    assert bot.card().buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]
