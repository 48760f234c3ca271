"""The "Siap menerima" hand-over end to end: the one-time link's key never waits for a
WhatsApp window. When an admin taps Kirim hasil and the requester's 24-hour window is closed
or closing, no hand-over starts; the requester gets "hasil siap dikirim" (its template
outside the window) with a "Siap menerima" button; their tap opens the window, the card
shows ✅ and the admins are told; the next Kirim hasil hands over as usual, the link as a
CTA button, and its "read" status shows on the card as "dibaca"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from chatbot.app import App, whatsapp_requesters
from chatbot.conversations.payloads import RequesterAction, RequesterPayload
from chatbot.db.models import AuditEvent, CredentialLink, Requester, Ticket, utcnow
from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.e2e.harness import ADMIN, GROUP, REQUESTER, UNPACED, Harness
from tests.e2e.test_whatsapp_requester import (
    BUDI,
    WhatsAppHarness,
    graph,
    submit,
    text_of,
    whatsapp_settings,
)
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.graph_api_models import SentMessage

__all__ = ["graph"]  # the fixture, shared with the requester's tests

DAY = 24 * 3600
READY_TEMPLATE = "hasil_siap_dikirim"
PASSWORD = "Spse2026-Baru!"


@pytest.fixture
async def wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object
) -> AsyncIterator[WhatsAppHarness]:
    def requesters(app: App) -> Any:
        return whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())

    configured = whatsapp_settings(settings, fake, graph).model_copy(
        update={"whatsapp_templates": f"result_ready={READY_TEMPLATE}"}
    )
    # The README's shape: one body parameter (the ticket number), one quick reply.
    graph.add_template(
        READY_TEMPLATE,
        "Admin siap mengirim hasil permohonan tiket {{1}}. Ketuk Siap menerima agar link "
        "sekali pakai dikirim di chat ini.",
        quick_replies=("Siap menerima",),
    )
    bot = WhatsAppHarness(Harness(fake, configured, requesters=requesters), graph)
    await bot.start()
    yield bot
    await bot.stop()


async def to_valid(wa: WhatsAppHarness) -> str:
    """Budi submits on WhatsApp; the admins mark it complete and valid."""
    number = await submit(wa)
    bot = wa.harness
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Valid", chat=GROUP, message=bot.card())
    return number


async def window_left(wa: WhatsAppHarness, left: timedelta) -> None:
    """Budi's last message was so long ago that `left` of his window remains (negative:
    closed), on our record and on Meta's clock."""
    ago = timedelta(hours=24) - left
    wa.graph.advance(ago.total_seconds())
    async with wa.app.sessions.begin() as session:
        await session.execute(update(Requester).values(last_inbound_at=utcnow() - ago))


async def kirim_hasil(wa: WhatsAppHarness) -> str:
    """An admin taps Kirim hasil on the card; the toast."""
    bot = wa.harness
    answer = await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()
    return str(answer.get("text", ""))


async def ticket_of(wa: WhatsAppHarness, number: str) -> Ticket:
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None
    return ticket


def quick_reply_payload(sent: SentMessage) -> str | None:
    """The payload our template carries for its quick reply, if the sender set one."""
    for component in sent.payload.get("components", []):
        if component.get("type") == "button":
            return str(component["parameters"][0]["payload"])
    return None


async def taps_siap_menerima(wa: WhatsAppHarness, sent: SentMessage, ticket_id: int) -> None:
    """Budi taps the template's quick reply: with the payload the template carries, or (a
    sender that does not pass quick-reply payloads yet) the rich button's data."""
    rich = RequesterPayload(RequesterAction.READY, ticket_id).encode()
    payload = quick_reply_payload(sent) or rich
    await wa.graph.user_taps_template_button(BUDI, payload, "Siap menerima", to_wamid=sent.wamid)
    await wa.settle()
    await wa.harness.pipeline.sender.flush()


async def test_closed_window_siap_menerima_then_the_link_and_its_read_receipt(
    wa: WhatsAppHarness,
) -> None:
    bot = wa.harness
    number = await to_valid(wa)
    await window_left(wa, -timedelta(minutes=1))
    shown = len(wa.graph.sent_to(BUDI))

    toast = await kirim_hasil(wa)
    assert "tunggu ✅ di kartu" in toast
    # No hand-over: nothing asked of the admin in private, the ticket not claimed.
    assert bot.fake.chat_messages(ADMIN) == []
    ticket = await ticket_of(wa, number)
    assert ticket.state == TicketState.VALID and ticket.result_admin_id is None
    card = bot.card().content
    assert "Menunggu pemohon mengetuk Siap menerima" in card
    assert "Jendela 24 jam: tertutup — hanya template" in card
    [template] = wa.graph.sent_to(BUDI)[shown:]
    assert template.type == "template" and template.payload["name"] == READY_TEMPLATE
    body = template.payload["components"][0]
    assert body["parameters"] == [{"type": "text", "text": number}]

    await taps_siap_menerima(wa, template, ticket.id)
    thanks = wa.graph.last_sent(BUDI)
    assert "Terima kasih" in text_of(thanks) and number in text_of(thanks)
    card = bot.card().content
    assert "✅ Pemohon siap menerima" in card and "Jendela 24 jam: terbuka s.d." in card
    group = bot.fake.chat_messages(GROUP)
    alerts = [m.content for m in group if "siap menerima hasil" in m.content]
    assert len(alerts) == 1 and number in alerts[0]

    toast = await kirim_hasil(wa)
    assert "chat pribadi" in toast
    await bot.say(ADMIN, PASSWORD)
    link = wa.graph.last_sent(BUDI)
    assert link.interactive_type == "cta_url"  # the window is open: the link as a CTA
    assert "/s/" in link.payload["action"]["parameters"]["url"]
    ticket = await ticket_of(wa, number)
    assert ticket.state == TicketState.DELIVERED
    assert ticket.latest_link is not None and ticket.latest_link.message_id == link.wamid

    await wa.graph.send_status(link.wamid, "delivered")
    await wa.graph.send_status(link.wamid, "read")
    await wa.settle()
    await bot.pipeline.sender.flush()
    assert "pesan dibaca" in bot.card().content


async def test_a_closing_window_asks_too_and_the_rich_button_is_tapped(
    wa: WhatsAppHarness,
) -> None:
    bot = wa.harness
    number = await to_valid(wa)
    await window_left(wa, timedelta(minutes=30))  # under an hour left: "closing"
    shown = len(wa.graph.sent_to(BUDI))
    await kirim_hasil(wa)
    assert bot.fake.chat_messages(ADMIN) == []
    [asked] = wa.graph.sent_to(BUDI)[shown:]
    assert asked.type == "interactive" and number in text_of(asked)  # still open: rich
    await wa.taps("Siap menerima")
    await bot.pipeline.sender.flush()
    assert "✅ Pemohon siap menerima" in bot.card().content
    # A second tap changes nothing and says so.
    again = await wa.taps("Siap menerima")
    assert "sudah tercatat" in text_of(again)
    async with wa.app.sessions() as session:
        readies = await session.scalars(select(AuditEvent).where(AuditEvent.action == "ready"))
        assert len(list(readies)) == 1


async def test_an_open_window_hands_over_at_once(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    await to_valid(wa)
    await window_left(wa, timedelta(hours=2))
    toast = await kirim_hasil(wa)
    assert "chat pribadi" in toast
    await bot.say(ADMIN, PASSWORD)
    assert wa.graph.last_sent(BUDI).interactive_type == "cta_url"


async def test_a_double_tap_on_kirim_hasil_asks_once(wa: WhatsAppHarness) -> None:
    await to_valid(wa)
    await window_left(wa, -timedelta(hours=1))
    shown = len(wa.graph.sent_to(BUDI))
    await kirim_hasil(wa)
    toast = await kirim_hasil(wa)
    assert "belum mengetuk Siap menerima" in toast
    assert len(wa.graph.sent_to(BUDI)) == shown + 1


async def test_a_stale_siap_menerima_changes_nothing(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    number = await to_valid(wa)
    ticket = await ticket_of(wa, number)
    # Never asked (the window was open): a forged or stale tap is refused in words.
    payload = RequesterPayload(RequesterAction.READY, ticket.id).encode()
    await wa.graph.user_taps_template_button(BUDI, payload, "Siap menerima")
    await wa.settle()
    assert "tidak sedang menunggu kesiapan Anda" in text_of(wa.graph.last_sent(BUDI))
    # Another ticket id (not Budi's): not found, in words.
    forged = RequesterPayload(RequesterAction.READY, ticket.id + 100).encode()
    await wa.graph.user_taps_template_button(BUDI, forged, "Siap menerima")
    await wa.settle()
    assert "tidak ditemukan" in text_of(wa.graph.last_sent(BUDI))
    ticket = await ticket_of(wa, number)
    assert ticket.ready_at is None and "siap menerima" not in bot.card().content.lower()

    # Asked, then handed over: the old template's tap is stale.
    await window_left(wa, -timedelta(minutes=5))
    await kirim_hasil(wa)
    template = wa.graph.last_sent(BUDI)
    await taps_siap_menerima(wa, template, ticket.id)
    await kirim_hasil(wa)
    await bot.say(ADMIN, PASSWORD)
    await taps_siap_menerima(wa, template, ticket.id)
    assert "tidak sedang menunggu kesiapan Anda" in text_of(wa.graph.last_sent(BUDI))
    assert (await ticket_of(wa, number)).state == TicketState.DELIVERED


async def test_readiness_expires_with_the_window(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    number = await to_valid(wa)
    await window_left(wa, -timedelta(minutes=5))
    await kirim_hasil(wa)
    ticket = await ticket_of(wa, number)
    await taps_siap_menerima(wa, wa.graph.last_sent(BUDI), ticket.id)
    assert "✅ Pemohon siap menerima" in bot.card().content
    # A day later the admin comes back: the window closed again, Budi is asked afresh.
    await window_left(wa, -timedelta(minutes=1))
    shown = len(wa.graph.sent_to(BUDI))
    toast = await kirim_hasil(wa)
    assert "tunggu ✅ di kartu" in toast and bot.fake.chat_messages(ADMIN) == []
    assert len(wa.graph.sent_to(BUDI)) == shown + 1
    assert "✅ Pemohon siap menerima" not in bot.card().content


async def test_a_link_receipt_only_moves_forward(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    number = await to_valid(wa)
    await kirim_hasil(wa)
    await bot.say(ADMIN, PASSWORD)
    link = wa.graph.last_sent(BUDI)
    await wa.graph.send_status(link.wamid, "read")
    await wa.graph.send_status(link.wamid, "delivered")  # late: never overwrites "read"
    await wa.settle()
    await bot.pipeline.sender.flush()
    async with wa.app.sessions() as session:
        recorded = await session.scalar(select(CredentialLink))
    assert recorded is not None and recorded.receipt == "read" and recorded.receipt_at
    assert "pesan dibaca" in bot.card().content
    assert (await ticket_of(wa, number)).state == TicketState.DELIVERED


async def test_a_new_requester_has_a_window_from_the_submit_itself(wa: WhatsAppHarness) -> None:
    """The race: the card may be rendered by another worker before the handled mark; the
    requester row is made with its last inbound time in the submit's own commit."""
    before = utcnow() - timedelta(minutes=1)
    number = await submit(wa)
    async with wa.app.sessions() as session:
        made = await session.scalar(
            select(AuditEvent.at).where(AuditEvent.action == "submitted").limit(1)
        )
        requester = await session.scalar(select(Requester))
    assert requester is not None and requester.last_inbound_at is not None
    assert made is not None and before <= requester.last_inbound_at <= made
    assert "Jendela 24 jam: terbuka s.d." in wa.harness.card().content
    assert number in wa.harness.card().content


async def test_the_card_shows_the_last_receipt_to_the_requester(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    await submit(wa)
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK pengangkatan", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()
    asked = wa.graph.last_sent(BUDI)
    assert "SK" in text_of(asked)
    await wa.graph.send_status(asked.wamid, "delivered")
    await wa.settle()
    await bot.pipeline.sender.flush()
    assert "Pesan terakhir ke pemohon: diterima" in bot.card().content
    await wa.graph.send_status(asked.wamid, "read")
    await wa.graph.send_status(asked.wamid, "sent")  # late: never overwrites "read"
    await wa.settle()
    await bot.pipeline.sender.flush()
    assert "Pesan terakhir ke pemohon: dibaca" in bot.card().content


async def test_a_telegram_requester_is_never_asked(wa: WhatsAppHarness) -> None:
    bot = wa.harness
    await bot.submit_request()
    await bot.approve_to_valid()
    card = bot.card().content
    assert "Jendela 24 jam" not in card
    async with wa.app.sessions.begin() as session:  # no window on Telegram, whatever the age
        await session.execute(
            update(Requester)
            .where(Requester.channel == "telegram")
            .values(last_inbound_at=utcnow() - timedelta(days=3))
        )
    # A WhatsApp user forging "Siap menerima" for this (someone else's) ticket: refused.
    async with wa.app.sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id))
    assert ticket_id is not None
    forged = RequesterPayload(RequesterAction.READY, ticket_id).encode()
    await wa.says("/start")
    await wa.graph.user_taps_template_button(BUDI, forged, "Siap menerima")
    await wa.settle()
    assert "tidak ditemukan" in text_of(wa.graph.last_sent(BUDI))
    toast = await kirim_hasil(wa)
    assert "chat pribadi" in toast
    await bot.say(ADMIN, PASSWORD)
    assert bot.link_in(REQUESTER)


async def test_a_notice_held_for_want_of_a_template_has_its_own_alert(
    wa: WhatsAppHarness,
) -> None:
    """Only result_ready has a template here: a rejection in a closed window is held, and
    the admins read why (no template; it waits for the requester), not "blocked the bot"."""
    bot = wa.harness
    number = await submit(wa)
    await window_left(wa, -timedelta(minutes=1))
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()
    alerts = [m.content for m in bot.fake.chat_messages(GROUP) if m.content.startswith("📵")]
    assert len(alerts) == 1 and number in alerts[0]
    assert "belum ada template yang disetujui" in alerts[0]
    assert "menunggu sampai pemohon menulis lagi" in alerts[0]
    assert "memblokir" not in alerts[0]
    card = bot.card().content
    assert "Pemberitahuan ke pemohon tertahan" in card and "memblokir" not in card
