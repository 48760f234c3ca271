"""The whole SOP for a WhatsApp requester, with the admins in the Telegram group: intake,
completeness (a supplement round), validity, the hand-over, the one-time link as a
"🔐 Buka hasil" CTA button, the reveal, "Sudah login" and the archive; a rejection, a cancel,
the status query and "Bukan saya"; and what Meta's delivery adds at this level (a batched
body, a redelivered one, a forged signature, a failed status after a 200). Composed as
tests/e2e/test_whatsapp_requester.py composes it; the webhook's own checks are in
tests/test_whatsapp_webhook.py."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from chatbot.conversations import texts as t
from chatbot.services.enums import TicketState
from tests.e2e.harness import ADMIN, GROUP
from tests.e2e.test_whatsapp_requester import (
    BUDI,
    WhatsAppHarness,
    choices,
    graph,
    submit,
    text_of,
    wa,
)
from tests.factories import pdf_bytes
from tests.fakes.graph_api_models import SentMessage
from tests.fakes.graph_api_webhooks import sign

__all__ = ["graph", "wa"]  # the fixtures, shared with the requester's tests

PASSWORD = "Rahasia#2026baru"
USER_ID = "budi.pu.2020"
RINA = "6281234567002"


async def submit_as(wa: WhatsAppHarness, kind: str) -> str:
    """The intake with another request type than submit()'s "Reset password"."""
    await wa.says("/start")
    await wa.taps("Ajukan permohonan")
    await wa.taps(kind)
    await wa.taps("PPK")
    for text in ("Budi Santoso", "1985 0312 2010 01 1 004", "Dinas Pekerjaan Umum"):
        await wa.says(text)
    await wa.taps("Lewati")
    await wa.says("budi@magelangkota.go.id")
    await wa.sends_file(pdf_bytes("Surat"), "surat.pdf", "application/pdf")
    await wa.taps("Selesai")
    await wa.sends_file(pdf_bytes("SK"), "sk.pdf", "application/pdf")
    await wa.taps("Selesai")
    receipt = await wa.taps("Kirim permohonan")
    match = re.search(r"nomor tiket \*?(\d{4}-\d{4,})", text_of(receipt))
    assert match, text_of(receipt)
    return match.group(1)


async def hand_over(wa: WhatsAppHarness, *typed: str) -> SentMessage:
    """The admins approve, one hands the result over in chat; the link message Budi got."""
    bot = wa.harness
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    for text in typed:
        await bot.say(ADMIN, text)
    await wa.settle()
    return wa.graph.last_sent(BUDI)


def link_of(message: SentMessage) -> tuple[str, str]:
    """The (link id, key) on a link message's CTA button."""
    assert message.type == "interactive" and message.payload["type"] == "cta_url", message
    url = message.payload["action"]["parameters"]["url"]
    parts = urlsplit(url)
    assert url.startswith("https://bot.example.go.id/s/") and parts.fragment
    return parts.path.rsplit("/", 1)[1], parts.fragment


async def reveal(wa: WhatsAppHarness, link_id: str, key: str) -> httpx.Response:
    """Budi opens the link in his browser and taps Tampilkan; the receipt it causes goes."""
    response = await wa.harness.reveal(link_id, key)
    await wa.settle()
    return response


def labels(message: SentMessage) -> list[str]:
    return [title for _, title, _ in choices(message)]


async def state_of(wa: WhatsAppHarness, number: str) -> TicketState:
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None
    return ticket.state


# ---- the whole SOP ---------------------------------------------------------------------------


async def test_reset_password_from_whatsapp_through_a_supplement_to_the_archive(
    wa: WhatsAppHarness,
) -> None:
    bot = wa.harness
    number = await submit(wa)
    assert "via WhatsApp" in bot.card().content

    # Incomplete: the admins ask for the SK again, with a note.
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK pengangkatan", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())
    await wa.settle()
    notice = wa.graph.last_sent(BUDI)
    assert "belum lengkap" in text_of(notice) and "SK pengangkatan" in text_of(notice)
    assert "<b>" not in text_of(notice)  # WhatsApp's own *bold*, not our HTML
    assert any("Lengkapi" in label for label in labels(notice))

    # Budi supplements it in the same chat.
    asked = await wa.taps("Lengkapi")
    assert "SK pengangkatan" in text_of(asked)
    await wa.sends_file(pdf_bytes("SK bertanda tangan"), "sk2.pdf", "application/pdf")
    summary = await wa.taps("Selesai")
    assert "SK: 1 file" in text_of(summary)
    assert "Kelengkapan tiket" in text_of(await wa.taps("Kirim kelengkapan"))
    assert "cek kelengkapan lagi" in bot.card().content

    # Complete, valid, the result handed over: a link on a CTA button, not in the text.
    link = await hand_over(wa, PASSWORD)
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    assert number in text_of(link) and PASSWORD not in text_of(link)
    assert "https://" not in text_of(link) and "/s/" not in text_of(link)
    assert link.payload["action"]["parameters"]["display_text"] == t.OPEN_RESULT
    link_id, key = link_of(link)
    assert "Link: terkirim" in bot.card().content

    # Budi's browser reveals it once; the bot tells him it was opened and asks to confirm.
    revealed = await reveal(wa, link_id, key)
    assert revealed.status_code == 200
    assert bot.decrypt(revealed, key) == {"password": PASSWORD}
    assert (await reveal(wa, link_id, key)).status_code == 410
    receipt = wa.graph.last_sent(BUDI)
    assert "dibuka" in text_of(receipt)
    assert labels(receipt) == [t.CONFIRM_LOGIN, t.NOT_ME]
    assert "menunggu konfirmasi login" in bot.card().content.lower()

    thanks = await wa.taps("Sudah login")
    assert "selesai dan diarsipkan" in text_of(thanks)
    assert await state_of(wa, number) == TicketState.ARCHIVED
    await bot.pipeline.sender.flush()
    assert "Pemohon sudah login" in bot.card().content and bot.card().buttons() == []
    status = await wa.says("/status")
    assert number in text_of(status) and "diarsipkan" in text_of(status).lower()


async def test_reset_with_user_id_information_hands_over_both(wa: WhatsAppHarness) -> None:
    number = await submit_as(wa, "Reset + info user ID")
    link = await hand_over(wa, USER_ID, PASSWORD)
    assert number in text_of(link)
    link_id, key = link_of(link)
    revealed = await reveal(wa, link_id, key)
    assert wa.harness.decrypt(revealed, key) == {"user_id": USER_ID, "password": PASSWORD}
    await wa.taps("Sudah login")
    assert await state_of(wa, number) == TicketState.ARCHIVED


async def test_user_id_information_hands_over_the_user_id_only(wa: WhatsAppHarness) -> None:
    number = await submit_as(wa, "Informasi user ID")
    link = await hand_over(wa, USER_ID)
    link_id, key = link_of(link)
    assert wa.harness.decrypt(await reveal(wa, link_id, key), key) == {"user_id": USER_ID}
    assert await state_of(wa, number) == TicketState.RECEIVED  # waiting for "Sudah login"


# ---- other endings ---------------------------------------------------------------------------


async def test_an_invalid_request_is_rejected_with_its_reason_and_archived(
    wa: WhatsAppHarness,
) -> None:
    bot = wa.harness
    number = await submit(wa)
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()
    notice = wa.graph.last_sent(BUDI)
    assert number in text_of(notice) and "ditolak" in text_of(notice).lower()
    assert "SK" in text_of(notice)
    assert await state_of(wa, number) == TicketState.ARCHIVED
    assert bot.card().buttons() == []


async def test_budi_cancels_his_waiting_ticket(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    number = await submit(wa)
    await wa.says("/status")
    await wa.taps("Batalkan")
    done = await wa.taps("Ya, batalkan")
    assert f"Tiket {number} dibatalkan" in text_of(done).replace("*", "")
    await bot.pipeline.sender.flush()
    assert bot.card().buttons() == []
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.ARCHIVED
    assert ticket.outcome == "cancelled"


async def test_the_status_shows_only_ones_own_tickets(wa: WhatsAppHarness) -> None:
    assert "belum punya tiket" in text_of(await wa.says("/status"))
    number = await submit(wa)
    for asked in ("/status", "status", number):
        answer = text_of(await wa.says(asked))
        assert number in answer and "Menunggu pemeriksaan kelengkapan" in answer, asked
    await wa.graph.user_sends_text(RINA, number)  # another WhatsApp user asks for it
    await wa.settle()
    stranger = text_of(wa.graph.last_sent(RINA))
    assert "tidak ditemukan" in stranger and number not in stranger


async def test_bukan_saya_after_the_link_is_an_incident_for_the_admins(
    wa: WhatsAppHarness,
) -> None:
    bot = wa.harness
    number = await submit(wa)
    link_id, key = link_of(await hand_over(wa, PASSWORD))
    assert (await reveal(wa, link_id, key)).status_code == 200

    answer = await wa.taps("Bukan saya")
    assert "dibuka bukan oleh Anda" in text_of(answer)
    alerts = [text for text in bot.texts(GROUP) if "INSIDEN" in text]
    assert len(alerts) == 1 and number in alerts[0]
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.VALID and ticket.incidents == 1
    assert bot.card().buttons() == ["🔑 Kirim ulang hasil"]


# ---- Meta's delivery -------------------------------------------------------------------------


async def test_a_batched_body_is_answered_in_the_order_typed(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await wa.taps(label)
    shown = len(wa.graph.sent_to(BUDI))
    # Budi types three answers quickly; Meta delivers them in one body.
    typed = ("Budi Santoso", "1985 0312 2010 01 1 004", "Dinas Pekerjaan Umum")
    await wa.graph.deliver(*(wa.graph.text_message(BUDI, text) for text in typed))
    await wa.settle()
    answers = [text_of(m) for m in wa.graph.sent_to(BUDI)[shown:]]
    assert len(answers) == 3, answers
    for answer, step in zip(answers, ("Langkah 4/9", "Langkah 5/9", "Langkah 6/9"), strict=True):
        assert step in answer, answers


async def test_a_redelivered_submit_makes_one_ticket_and_one_card(wa: WhatsAppHarness) -> None:
    number = await submit(wa)
    shown = len(wa.graph.sent_to(BUDI))
    cards = len([m for m in wa.harness.fake.chat_messages(GROUP) if "🎫 Tiket" in m.content])
    # Meta did not see our 200 for the tap on "Kirim permohonan": it posts the body again.
    tap = next(d for d in reversed(wa.graph.deliveries) if b"Kirim permohonan" in d.raw)
    assert await wa.graph.redeliver(tap) == 200
    await wa.settle()
    assert len(wa.graph.sent_to(BUDI)) == shown  # nothing answered twice
    group = wa.harness.fake.chat_messages(GROUP)
    assert len([m for m in group if "🎫 Tiket" in m.content]) == cards == 1
    tickets = await wa.app.services.tickets.for_requester(channel="whatsapp", chat_id=BUDI)
    assert [ticket.number for ticket in tickets] == [number]


async def test_a_forged_tap_on_kirim_permohonan_submits_nothing(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await wa.taps(label)
    shown = len(wa.graph.sent_to(BUDI))
    body = wa.graph.webhook_body(wa.graph.text_message(BUDI, "Budi Santoso"))
    headers = {**body.headers, "X-Hub-Signature-256": sign(body.raw, "not-the-app-secret")}
    assert wa.graph.webhook_url is not None
    async with httpx.AsyncClient() as client:
        refused = await client.post(wa.graph.webhook_url, content=body.raw, headers=headers)
    assert refused.status_code in (401, 403)
    await wa.settle()
    assert len(wa.graph.sent_to(BUDI)) == shown  # the forged answer was not taken
    assert "Langkah 4/9" in text_of(await wa.says("Budi Santoso"))  # the real one is


async def test_a_failed_status_after_a_200_on_the_link_tells_the_admins(
    wa: WhatsAppHarness,
) -> None:
    """Meta accepted the link message, then could not deliver it (131026: the number is
    no longer on WhatsApp); the admins learn that the requester cannot be reached."""
    number = await submit(wa)
    link = await hand_over(wa, PASSWORD)
    await wa.graph.send_status(link.wamid, "failed", 131026)
    await wa.settle()
    await wa.harness.pipeline.sender.flush()
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.requester_unreachable_at is not None
    assert "tidak dapat dihubungi lewat bot" in wa.harness.card().content
