"""WhatsApp's 24-hour window and receipts end to end, against the fake Graph API (its window
runs on a fake clock; outside it only approved templates go): a notice inside the window is
the rich message, outside it the template of its kind; with no template the row is held,
not failed, and the admins are told once; a failed status after a 200 re-queues the row as
its template; statuses are recorded per outgoing message, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from chatbot.app import App, whatsapp_requesters
from chatbot.db.models import OutboxMessage, Requester, utcnow
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
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi

__all__ = ["graph"]  # the fixture, shared with the requester's tests

DAY = 24 * 3600
REJECTED = "permohonan_ditolak"


@pytest.fixture
def templates() -> str:
    return f"rejected={REJECTED}"


@pytest.fixture
async def wa(
    fake: FakeBotApi, graph: FakeGraphApi, settings: Settings, engine: object, templates: str
) -> AsyncIterator[WhatsAppHarness]:
    def requesters(app: App) -> Any:
        return whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())

    configured = whatsapp_settings(settings, fake, graph).model_copy(
        update={"whatsapp_templates": templates}
    )
    graph.add_template(
        REJECTED, "Permohonan dengan nomor tiket {{1}} ditolak. Buka chat ini untuk alasannya."
    )
    bot = WhatsAppHarness(Harness(fake, configured, requesters=requesters), graph)
    await bot.start()
    yield bot
    await bot.stop()


async def reject(wa: WhatsAppHarness) -> None:
    """The admins reject the ticket on Telegram: a notice to the requester is queued."""
    bot = wa.harness
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()


async def close_the_window(wa: WhatsAppHarness) -> None:
    """A day passes without the requester writing: on Meta's clock and on ours."""
    wa.graph.advance(DAY + 60)
    async with wa.app.sessions.begin() as session:
        await session.execute(
            update(Requester).values(last_inbound_at=utcnow() - timedelta(seconds=DAY + 60))
        )


async def row(wa: WhatsAppHarness, kind: str) -> OutboxMessage:
    async with wa.app.sessions() as session:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == kind))
    assert found is not None
    return found


async def test_the_last_inbound_message_is_tracked(wa: WhatsAppHarness) -> None:
    before = utcnow() - timedelta(seconds=5)
    await submit(wa)
    async with wa.app.sessions() as session:
        requester = await session.scalar(select(Requester))
    assert requester is not None and requester.last_inbound_at is not None
    assert before <= requester.last_inbound_at <= utcnow()


async def test_inside_the_window_a_notice_is_the_rich_message(wa: WhatsAppHarness) -> None:
    await submit(wa)
    await reject(wa)
    sent = wa.graph.last_sent(BUDI)
    assert sent.type != "template" and "ditolak" in text_of(sent).lower()


async def test_outside_the_window_a_notice_is_its_template(wa: WhatsAppHarness) -> None:
    number = await submit(wa)
    await close_the_window(wa)
    await reject(wa)
    sent = wa.graph.last_sent(BUDI)
    assert sent.type == "template" and sent.payload["name"] == REJECTED
    assert sent.payload["language"] == {"code": "id"}
    [body] = sent.payload["components"]
    assert body["parameters"] == [{"type": "text", "text": number}]
    rejected = await row(wa, "rejected")
    assert rejected.sent_at is not None and rejected.platform_message_id == sent.wamid


async def test_a_window_refusal_131047_falls_back_to_the_template(wa: WhatsAppHarness) -> None:
    """Our record says open, Meta says closed: the rich message is refused, the template
    goes in the same round."""
    await submit(wa)
    wa.graph.window_is_violation = False  # the refusal is the point here
    wa.graph.advance(DAY + 60)
    await reject(wa)
    sent = wa.graph.last_sent(BUDI)
    assert sent.type == "template" and sent.payload["name"] == REJECTED
    assert (await row(wa, "rejected")).sent_at is not None


@pytest.mark.parametrize("templates", [""])
async def test_without_a_template_the_row_is_held_and_the_admins_told_once(
    wa: WhatsAppHarness,
) -> None:
    number = await submit(wa)
    await close_the_window(wa)
    shown = len(wa.graph.sent_to(BUDI))
    await reject(wa)
    await wa.harness.pipeline.sender.flush()  # a second round holds it again, quietly
    assert len(wa.graph.sent_to(BUDI)) == shown  # nothing went out
    held = await row(wa, "rejected")
    assert held.held_at is not None and held.failed_at is None and held.sent_at is None
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.requester_unreachable_at is not None
    assert "Pemberitahuan ke pemohon tertahan" in wa.harness.card().content  # not blocked
    alerts = [m for m in wa.harness.fake.chat_messages(GROUP) if m.content.startswith("📵")]
    assert len(alerts) == 1  # the existing "unreachable" alert, once

    # Budi writes again: the window opens, the held notice goes as the rich message first.
    await wa.says("/status")
    await wa.harness.pipeline.sender.flush()
    delivered = await row(wa, "rejected")
    assert delivered.sent_at is not None and delivered.held_at is None
    after = wa.graph.sent_to(BUDI)[shown:]
    assert after[0].type != "template" and "ditolak" in text_of(after[0]).lower()
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.requester_unreachable_at is None


async def test_a_failed_status_after_a_200_requeues_the_row_as_its_template(
    wa: WhatsAppHarness,
) -> None:
    number = await submit(wa)
    wa.graph.fail_next(131047, to=BUDI, later=True)
    await reject(wa)
    rich = wa.graph.last_sent(BUDI)
    assert rich.type != "template"
    await wa.graph.flush_statuses()
    await wa.settle()
    await wa.harness.pipeline.sender.flush()
    sent = wa.graph.last_sent(BUDI)
    assert sent.type == "template" and sent.payload["name"] == REJECTED
    assert sent.payload["components"][0]["parameters"][0]["text"] == number
    rejected = await row(wa, "rejected")
    assert rejected.sent_at is not None and rejected.platform_message_id == sent.wamid
    assert len([m for m in wa.graph.sent_to(BUDI) if m.type == "template"]) == 1


async def test_statuses_are_recorded_in_order(wa: WhatsAppHarness) -> None:
    await submit(wa)
    await reject(wa)
    rejected = await row(wa, "rejected")
    wamid = rejected.platform_message_id
    assert wamid is not None and rejected.receipt is None
    await wa.graph.send_status(wamid, "delivered")
    await wa.settle()
    assert (await row(wa, "rejected")).receipt == "delivered"
    await wa.graph.send_status(wamid, "read")
    await wa.graph.send_status(wamid, "sent")  # late: never overwrites "read"
    await wa.settle()
    recorded = await row(wa, "rejected")
    assert recorded.receipt == "read" and recorded.receipt_at is not None


async def test_a_failed_status_131026_marks_the_requester_unreachable(
    wa: WhatsAppHarness,
) -> None:
    number = await submit(wa)
    await reject(wa)
    wamid = (await row(wa, "rejected")).platform_message_id
    assert wamid is not None
    await wa.graph.send_status(wamid, "failed", 131026)
    await wa.settle()
    await wa.harness.pipeline.sender.flush()
    assert (await row(wa, "rejected")).receipt == "failed"
    ticket = await wa.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.requester_unreachable_at is not None
    assert "tidak dapat dihubungi lewat bot" in wa.harness.card().content


@pytest.mark.parametrize("templates", [""])
async def test_a_failed_status_without_a_template_holds_until_the_requester_writes(
    wa: WhatsAppHarness,
) -> None:
    await submit(wa)
    wa.graph.fail_next(131047, to=BUDI, later=True)
    await reject(wa)
    await wa.graph.flush_statuses()
    await wa.settle()
    await wa.harness.pipeline.sender.flush()
    held = await row(wa, "rejected")
    assert held.held_at is not None and held.sent_at is None and held.failed_at is None
    shown = len(wa.graph.sent_to(BUDI))
    await wa.says("/status")
    await wa.harness.pipeline.sender.flush()
    after = wa.graph.sent_to(BUDI)[shown:]
    assert after[0].type != "template" and "ditolak" in text_of(after[0]).lower()
    assert (await row(wa, "rejected")).sent_at is not None
