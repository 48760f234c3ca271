"""A WhatsApp requester end to end, composed as production composes it: signed webhooks from
the fake Graph API POSTed over HTTP to our real `/whatsapp/webhook` route, the one pipeline
(inbox, worker, router, outbox), and pywa sending back to the fake over HTTP; the admins on
the fake Bot API's Telegram group. The fake refuses and records anything out of Meta's
bounds: every test ends with no violation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select, update
from starlette.applications import Starlette

from chatbot.app import App, whatsapp_requesters, whatsapp_webhooks
from chatbot.db.models import OutboxMessage, utcnow
from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from chatbot.web.whatsapp_webhook import WHATSAPP_WEBHOOK_PATH
from tests.e2e.harness import ADMIN, GROUP, UNPACED, Harness, bot_settings
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.graph_api_http import serve_locally
from tests.fakes.graph_api_models import SentMessage

APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-token_for-the-handshake"
BUDI = "6281234567001"


class WhatsAppHarness:
    """The bot (Telegram + WhatsApp on one pipeline) with its WhatsApp webhook served on a
    local port that the fake Graph API posts to; acting as the WhatsApp user waits until
    the pipeline has settled."""

    def __init__(self, harness: Harness, graph: FakeGraphApi) -> None:
        self.harness = harness
        self.graph = graph
        self._server: uvicorn.Server | None = None

    async def start(self) -> None:
        await self.harness.start()
        web = Starlette(routes=whatsapp_webhooks(self.harness.app, self.harness.bot))
        self._server, port = await serve_locally(web)
        self.graph.webhook_url = f"http://127.0.0.1:{port}{WHATSAPP_WEBHOOK_PATH}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            await self._server.shutdown()
        await self.harness.stop()

    @property
    def app(self) -> App:
        return self.harness.app

    async def settle(self) -> None:
        await self.harness.settle()

    async def says(self, text: str) -> SentMessage:
        """Budi types; the bot's last message to him."""
        await self.graph.user_sends_text(BUDI, text)
        await self.settle()
        return self.graph.last_sent(BUDI)

    async def taps(self, label: str) -> SentMessage:
        """Budi taps the reply button or list row labelled (or starting with) `label` on
        the newest message that has it."""
        wamid, reply_id, title, is_row = self.choice(label)
        if is_row:
            await self.graph.user_picks_list_row(BUDI, reply_id, title, to_wamid=wamid)
        else:
            await self.graph.user_taps_button(BUDI, reply_id, title, to_wamid=wamid)
        await self.settle()
        return self.graph.last_sent(BUDI)

    async def sends_file(self, content: bytes, name: str, mime: str) -> SentMessage:
        if mime.startswith("image/"):
            await self.graph.user_sends_image(BUDI, content, mime)
        else:
            await self.graph.user_sends_document(BUDI, content, name, mime)
        await self.settle()
        return self.graph.last_sent(BUDI)

    def choice(self, label: str) -> tuple[str, str, str, bool]:
        for message in reversed(self.graph.sent_to(BUDI)):
            for reply_id, title, is_row in choices(message):
                if title.startswith(label) or label in title:
                    return message.wamid, reply_id, title, is_row
        raise AssertionError(f"no choice {label!r} was sent to {BUDI}")


def choices(message: SentMessage) -> list[tuple[str, str, bool]]:
    """(id, title, is a list row) of a sent message's reply buttons or list rows."""
    if message.type != "interactive":
        return []
    action = message.payload.get("action", {})
    found = [(b["reply"]["id"], b["reply"]["title"], False) for b in action.get("buttons", [])]
    found += [
        (row["id"], row.get("description") or row["title"], True)
        for section in action.get("sections", [])
        for row in section["rows"]
    ]
    return found


def text_of(message: SentMessage) -> str:
    payload: dict[str, Any] = message.payload
    if message.type == "text":
        return str(payload["body"])
    if message.type == "interactive":
        return str(payload["body"]["text"])
    return str(payload.get("caption", ""))


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(app_secret=APP_SECRET, api_version="v23.0") as graph:
        yield graph
        graph.assert_no_violations()


def whatsapp_settings(settings: Settings, fake: FakeBotApi, graph: FakeGraphApi) -> Settings:
    return bot_settings(
        settings,
        fake,
        whatsapp_token=SecretStr(graph.token),
        whatsapp_phone_number_id=graph.metadata.phone_number_id,
        whatsapp_waba_id=graph.metadata.waba_id,
        whatsapp_app_secret=SecretStr(APP_SECRET),
        whatsapp_verify_token=SecretStr(VERIFY_TOKEN),
        whatsapp_api_version="v23.0",
    )


@pytest.fixture
async def wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object
) -> AsyncIterator[WhatsAppHarness]:
    def requesters(app: App) -> Any:  # as run_telegram composes them, pywa aimed at the fake
        return whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())

    harness = Harness(fake, whatsapp_settings(settings, fake, graph), requesters=requesters)
    bot = WhatsAppHarness(harness, graph)
    await bot.start()
    yield bot
    await bot.stop()


async def submit(wa: WhatsAppHarness) -> str:
    """The whole intake on WhatsApp; the ticket number."""
    await wa.says("/start")
    await wa.taps("Ajukan permohonan")
    await wa.taps("Reset password")
    await wa.taps("PPK")
    await wa.says("Budi Santoso")
    await wa.says("1985 0312 2010 01 1 004")
    await wa.says("Dinas Pekerjaan Umum")
    await wa.taps("Lewati")
    await wa.says("budi@magelangkota.go.id")  # the phone is the sender's number: not asked
    await wa.sends_file(pdf_bytes("Surat"), "surat.pdf", "application/pdf")
    await wa.taps("Selesai")
    await wa.sends_file(png_bytes(10), "sk.png", "image/png")
    await wa.taps("Selesai")
    receipt = await wa.taps("Kirim permohonan")
    match = re.search(r"nomor tiket \*?(\d{4}-\d{4,})", text_of(receipt))
    assert match, text_of(receipt)
    return match.group(1)


# ---- the dialog ----------------------------------------------------------------------------


async def test_start_gets_the_main_menu_as_reply_buttons(wa: WhatsAppHarness) -> None:
    menu = await wa.says("/start")
    assert menu.type == "interactive" and menu.payload["type"] == "button"
    assert "Pilih menu" in text_of(menu)
    titles = [title for _, title, _ in choices(menu)]
    assert any("Ajukan permohonan" in title for title in titles)
    assert wa.harness.fake.chat_messages(int(BUDI)) == []  # nothing on Telegram


async def test_taps_on_the_menu_advance_the_intake(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    asked = await wa.taps("Ajukan permohonan")
    assert "Langkah 1/9" in text_of(asked)  # the phone step is the sender's number
    assert asked.payload["type"] == "button"  # three labels within 20 characters
    role = await wa.taps("Reset password")
    assert "Langkah 2/9" in text_of(role)
    name = await wa.taps("PPK")
    assert "Ketik *nama lengkap*" in text_of(name)


async def test_a_document_is_downloaded_by_its_media_id_and_stored(wa: WhatsAppHarness) -> None:
    number = await submit(wa)
    downloads = wa.graph.calls_to("/whatsapp_business/attachments/", "GET")
    assert len(downloads) == 2 and all(call.status == 200 for call in downloads)
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.SUBMITTED
    assert (ticket.requester.channel, ticket.requester.chat_id) == ("whatsapp", BUDI)
    # The admins got both files and the card on Telegram, as for a Telegram requester.
    group = wa.harness.fake.chat_messages(GROUP)
    assert len([m for m in group if m.document or m.photo]) == 2
    assert f"Tiket {number}" in wa.harness.card().content


async def test_a_too_big_file_is_refused_by_its_size_and_never_fetched(
    wa: WhatsAppHarness,
) -> None:
    await submit_until_letter(wa)
    shown = len(wa.graph.sent_to(BUDI))
    limit = wa.app.settings.max_upload_bytes
    await wa.sends_file(b"%PDF-1.4\n" + b"0" * limit, "besar.pdf", "application/pdf")
    answers = [text_of(m) for m in wa.graph.sent_to(BUDI)[shown:]]
    assert any("terlalu besar" in answer.lower() for answer in answers), answers
    assert wa.graph.calls_to("/whatsapp_business/attachments/", "GET") == []  # never fetched


async def submit_until_letter(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    for label in ("Ajukan permohonan", "Reset password", "PPK"):
        await wa.taps(label)
    for text in ("Budi Santoso", "1985 0312 2010 01 1 004", "Dinas Pekerjaan Umum"):
        await wa.says(text)
    await wa.taps("Lewati")
    asked = await wa.says("budi@magelangkota.go.id")  # the phone step is skipped
    assert "surat permohonan" in text_of(asked).lower()


# ---- refusals --------------------------------------------------------------------------------


async def test_an_undeliverable_requester_131026_is_shown_to_the_admins(
    wa: WhatsAppHarness,
) -> None:
    number = await submit(wa)
    wa.graph.make_undeliverable(BUDI)
    bot = wa.harness
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()

    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.requester_unreachable_at is not None
    assert "tidak dapat dihubungi lewat bot" in bot.card().content
    async with wa.app.sessions() as session:
        failed = list(
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.failed_at.is_not(None))
            )
        )
    assert failed == ["rejected"]  # given up at once, not retried


async def test_a_rate_limit_130429_is_retried_later_not_failed(wa: WhatsAppHarness) -> None:
    await wa.says("/start")
    shown = len(wa.graph.sent_to(BUDI))
    wa.graph.fail_next(130429, to=BUDI)
    await wa.graph.user_sends_text(BUDI, "/status")
    await wa.settle()
    assert len(wa.graph.sent_to(BUDI)) == shown  # refused once: nothing new yet
    async with wa.app.sessions() as session:
        [waiting] = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
        )
    assert waiting.failed_at is None and waiting.attempts == 1
    assert waiting.last_error is not None and "130429" in waiting.last_error

    async with wa.app.sessions.begin() as session:  # the clock moves on: due again
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == waiting.id)
            .values(next_attempt_at=utcnow())
        )
    await wa.harness.pipeline.sender.flush()
    assert "belum punya tiket" in text_of(wa.graph.last_sent(BUDI))
    assert len(wa.graph.sent_to(BUDI)) == shown + 1


# ---- composition ---------------------------------------------------------------------------


async def test_the_served_route_answers_metas_handshake(wa: WhatsAppHarness) -> None:
    status, body, challenge = await wa.graph.webhook_handshake(VERIFY_TOKEN)
    assert (status, body) == (200, challenge)
    status, _, _ = await wa.graph.webhook_handshake("not-the-verify-token")
    assert status == 403


async def test_without_whatsapp_settings_nothing_of_it_is_built(
    fake: FakeBotApi, settings: Settings, engine: object
) -> None:
    harness = Harness(fake, bot_settings(settings, fake), requesters=whatsapp_requesters)
    await harness.start()
    try:
        assert harness.bot.requesters == ()
        assert whatsapp_webhooks(harness.app, harness.bot) == []
    finally:
        await harness.stop()
