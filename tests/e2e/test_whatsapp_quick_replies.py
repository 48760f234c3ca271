"""A template's quick replies answer as the rich message's buttons do: the receipt of an
opened link reaches a requester whose 24-hour window is closed as the `received` template,
its "Sudah login" / "Bukan saya" quick replies carrying the rich buttons' data, and a tap on
one of them does what the tap on the rich button does. End to end through the fake Graph API,
as tests/e2e/test_whatsapp_requester.py composes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatbot.app import App, whatsapp_requesters
from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.e2e.harness import ADMIN, GROUP, UNPACED, Harness
from tests.e2e.test_whatsapp_requester import (
    BUDI,
    WhatsAppHarness,
    graph,
    submit,
    text_of,
    whatsapp_settings,
)
from tests.e2e.test_whatsapp_window import close_the_window
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.graph_api_models import SentMessage

__all__ = ["graph"]  # the fixture, shared with the requester's tests

RECEIVED = "hasil_dibuka"
SECRET = "Rahasia2026x"


@pytest.fixture
async def wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object
) -> AsyncIterator[WhatsAppHarness]:
    def requesters(app: App) -> Any:
        return whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())

    configured = whatsapp_settings(settings, fake, graph).model_copy(
        update={"whatsapp_templates": f"received={RECEIVED}"}
    )
    graph.add_template(
        RECEIVED,
        "Link hasil tiket {{1}} sudah dibuka. Setelah berhasil login ke SPSE, ketuk Sudah "
        "login. Jika bukan Anda yang membukanya, ketuk Bukan saya.",
        quick_replies=("Sudah login", "Bukan saya"),
    )
    bot = WhatsAppHarness(Harness(fake, configured, requesters=requesters), graph)
    await bot.start()
    yield bot
    await bot.stop()


async def receipt_as_template(wa: WhatsAppHarness) -> tuple[str, SentMessage]:
    """Submit, hand the result over, let a day pass, open the link: the receipt goes as the
    `received` template. The ticket number and the template message."""
    number = await submit(wa)
    bot = wa.harness
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, SECRET)
    await wa.settle()
    link = wa.graph.last_sent(BUDI)
    assert link.payload["type"] == "cta_url", text_of(link)
    parts = urlsplit(link.payload["action"]["parameters"]["url"])
    await close_the_window(wa)
    response = await bot.reveal(parts.path.rsplit("/", 1)[1], parts.fragment)
    assert response.status_code == 200, response.text
    sent = wa.graph.last_sent(BUDI)
    assert sent.type == "template" and sent.payload["name"] == RECEIVED
    return number, sent


def quick_replies(template: SentMessage) -> list[str]:
    """The payloads of a sent template's quick replies, in button order."""
    buttons = [c for c in template.payload["components"] if c["type"] == "button"]
    assert [b["index"] for b in buttons] == [str(i) for i in range(len(buttons))]
    return [b["parameters"][0]["payload"] for b in buttons]


async def tap(wa: WhatsAppHarness, template: SentMessage, index: int, label: str) -> None:
    await wa.graph.user_taps_template_button(
        BUDI, quick_replies(template)[index], label, to_wamid=template.wamid
    )
    await wa.settle()
    await wa.harness.pipeline.sender.flush()


async def test_the_template_carries_the_rich_buttons_as_quick_replies(
    wa: WhatsAppHarness,
) -> None:
    number, template = await receipt_as_template(wa)
    body = template.payload["components"][0]
    assert body["type"] == "body" and [p["text"] for p in body["parameters"]] == [number]
    assert len(quick_replies(template)) == 2


async def test_bukan_saya_on_the_template_reports_an_incident(wa: WhatsAppHarness) -> None:
    number, template = await receipt_as_template(wa)

    await tap(wa, template, 1, "Bukan saya")

    assert "dibuka bukan oleh Anda" in text_of(wa.graph.last_sent(BUDI))
    assert any("INSIDEN" in text for text in wa.harness.texts(GROUP))
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.incidents == 1
    assert ticket.state == TicketState.VALID


async def test_sudah_login_on_the_template_confirms_and_closes_the_ticket(
    wa: WhatsAppHarness,
) -> None:
    number, template = await receipt_as_template(wa)

    await tap(wa, template, 0, "Sudah login")

    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.confirmed_at is not None
    assert "diarsipkan" in text_of(wa.graph.last_sent(BUDI))
