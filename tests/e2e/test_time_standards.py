"""The SOP's time standards as the admins and the requester see them in Telegram: reminders
on the card, escalation to the supervisor, the late reason asked and recorded, step 4's
reminder and expiry, and /antrian.

The office here is open every day, 00.00-23.59 (no holidays), so that moving the steps'
times an hour into the past means an hour of office time whenever the tests run; the office
clock's own arithmetic is tested in test_office_hours and test_deadlines.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.db.models import StepRecord, Ticket
from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.e2e.harness import ADMIN, ADMIN_2, GROUP, REQUESTER, STRANGER, Harness, bot_settings
from tests.fakes.bot_api import FakeBotApi

SUPERVISOR = 8001
ALWAYS_OPEN = {"office_hours": "mon-sun 00:00-23:59", "national_holidays": False}


@pytest.fixture
async def bot(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[Harness]:
    fake.add_user(SUPERVISOR, "Kabag")
    harness = Harness(
        fake, bot_settings(settings, fake, supervisor_chat_id=SUPERVISOR, **ALWAYS_OPEN)
    )
    await harness.start()
    yield harness
    await harness.stop()


async def age_steps(bot: Harness, by: timedelta) -> None:
    """As if `by` had passed since every step started (deadlines move with them)."""
    async with bot.app.sessions.begin() as session:
        for record in (await session.execute(select(StepRecord))).scalars():
            record.started_at -= by
            if record.due_at is not None:
                record.due_at -= by
            if record.escalate_at is not None:
                record.escalate_at -= by


async def sweep(bot: Harness) -> None:
    await bot.pipeline.jobs.deadlines()
    await bot.pipeline.sender.flush()


def group_texts(bot: Harness, text: str) -> list[str]:
    return [m for m in bot.texts(GROUP) if text in m]


async def test_an_overdue_step_is_reminded_once_then_escalated_to_the_supervisor(
    bot: Harness,
) -> None:
    number = await bot.submit_request()
    assert "Batas langkah 2" in bot.card().content

    await age_steps(bot, timedelta(minutes=7))  # past 5 minutes, not yet twice that
    await sweep(bot)
    await sweep(bot)

    [reminder] = group_texts(bot, "melewati standar")
    assert number in reminder and "langkah 2 (Cek kelengkapan)" in reminder
    assert "⏰ Lewat standar 5 menit" in bot.card().content
    assert bot.texts(SUPERVISOR) == []

    await age_steps(bot, timedelta(minutes=5))  # 12 minutes: escalated
    await sweep(bot)
    await sweep(bot)

    [escalation] = bot.texts(SUPERVISOR)
    assert "Eskalasi" in escalation and number in escalation and "standar SOP 5 menit" in escalation
    assert "dieskalasi" in bot.card().content
    assert len(group_texts(bot, "melewati standar")) == 1


async def test_a_late_step_asks_its_admin_why_and_records_a_preset(bot: Harness) -> None:
    number = await bot.submit_request()
    await age_steps(bot, timedelta(minutes=30))

    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())

    question = bot.with_button(GROUP, "SPSE / jaringan bermasalah")
    assert "Apa penyebabnya" in question.content and number in question.content
    assert "Sari" in question.content  # the admin who finished it, mentioned

    refused = await bot.press(ADMIN_2, "SPSE / jaringan", chat=GROUP, message=question)
    assert "untuk Sari" in refused["text"]
    stranger = await bot.press(STRANGER, "SPSE / jaringan", chat=GROUP, message=question)
    assert "hanya admin" in stranger["text"]

    await bot.press(ADMIN, "SPSE / jaringan", chat=GROUP, message=question)

    recorded = bot.fake.message(GROUP, question.message_id)
    assert "dicatat: SPSE / jaringan bermasalah" in recorded.content
    assert recorded.buttons() == []
    assert "(SPSE / jaringan bermasalah)" in bot.card().content


async def test_a_late_reason_can_be_typed_as_a_reply(bot: Harness) -> None:
    await bot.submit_request()
    await age_steps(bot, timedelta(minutes=30))
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())

    question = bot.with_button(GROUP, "Alasan lain")
    await bot.press(ADMIN, "Alasan lain", chat=GROUP, message=question)
    ask = bot.last(GROUP)
    assert "balas pesan ini dengan penyebab" in ask.content
    await bot.say(ADMIN, "Listrik kantor padam", chat=GROUP, reply_to=ask.message_id)

    assert "dicatat: Listrik kantor padam" in bot.last(GROUP).content
    # The question's preset buttons are gone: it says what was recorded.
    answered = bot.fake.message(GROUP, question.message_id)
    assert answered.buttons() == [] and "Listrik kantor padam" in answered.content
    async with bot.app.sessions() as session:
        record = (
            await session.execute(select(StepRecord).where(StepRecord.late_reason.is_not(None)))
        ).scalar_one()
    assert (record.step, record.late_reason, record.late_reason_by) == (
        2,
        "Listrik kantor padam",
        "Sari",
    )


async def test_the_requester_is_reminded_to_supplement_then_the_ticket_expires(
    bot: Harness,
) -> None:
    number = await bot.submit_request()
    card = bot.card()
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=card)
    await bot.press(ADMIN, "SK", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())

    async def age_ticket(by: timedelta) -> None:
        async with bot.app.sessions.begin() as session:
            for ticket in (await session.execute(select(Ticket))).scalars():
                ticket.state_since -= by

    await age_ticket(timedelta(days=2, minutes=1))
    await sweep(bot)
    await sweep(bot)
    reminders = [t for t in bot.texts(REQUESTER) if "Pengingat" in t]
    assert len(reminders) == 1 and number in reminders[0] and "SK" in reminders[0]
    assert bot.last(REQUESTER).buttons() == ["📎 Lengkapi"]

    await age_ticket(timedelta(days=5))
    await sweep(bot)

    assert "ditutup karena kelengkapan tidak dikirim" in bot.last(REQUESTER).content
    async with bot.app.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.state == TicketState.ARCHIVED and ticket.outcome == "expired"
    # A late tap on Lengkapi changes nothing.
    answer = await bot.press(REQUESTER, "Lengkapi", message=bot.with_button(REQUESTER, "Lengkapi"))
    assert answer.get("text") or "tidak sedang menunggu" in bot.last(REQUESTER).content


async def test_antrian_lists_open_tickets_for_admins_only(bot: Harness) -> None:
    first = await bot.submit_request()
    second = await bot.submit_request()
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await age_steps(bot, timedelta(minutes=20))

    refused = await bot.say(STRANGER, "/antrian", chat=GROUP)
    assert "hanya admin" in refused.content

    queue = await bot.say(ADMIN, "/antrian", chat=GROUP)

    assert "2 tiket terbuka" in queue.content
    lines = queue.content.splitlines()
    one = next(line for line in lines if first in line)
    two = next(line for line in lines if second in line)
    assert "L2 Cek kelengkapan" in one and "lewat" in one
    assert "L5 Cek keabsahan" in two and "lewat" in two


async def test_laporan_sends_the_summary_the_chart_and_the_pdf_to_admins(bot: Harness) -> None:
    await bot.submit_request()
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    month = datetime.now(bot.settings.zone).strftime("%Y-%m")
    before = len(bot.fake.chat_messages(GROUP))

    refused = await bot.say(STRANGER, f"/laporan {month}", chat=GROUP)
    assert "hanya admin" in refused.content
    wrong = await bot.say(ADMIN, "/laporan 2026-13", chat=GROUP)
    assert "YYYY-MM" in wrong.content

    await bot.say(ADMIN, f"/laporan {month}", chat=GROUP)

    sent = [m for m in bot.fake.chat_messages(GROUP)[before:] if m.from_bot]
    summary = next(m for m in sent if "Permohonan: 1" in m.content)
    assert "Langkah dalam standar: 1 dari 1" in summary.content  # step 2, seconds long
    chart = next(m for m in sent if m.photo)
    pdf = next(m for m in sent if m.document and m.document["file_name"].endswith(".pdf"))
    assert sent.index(summary) < sent.index(chart) < sent.index(pdf)
    assert bot.fake.files[pdf.document["file_id"]].content.startswith(b"%PDF")
    assert list((bot.settings.storage_dir / "reports").iterdir()) == []  # not kept once sent


async def test_the_bot_stays_in_a_supervisor_group_but_leaves_others(
    fake: FakeBotApi, settings: Settings, engine: object
) -> None:
    supervisors = -1009990001
    harness = Harness(fake, bot_settings(settings, fake, supervisor_chat_id=supervisors))
    await harness.start()
    try:
        fake.add_bot_to_group(supervisors, "Kabag", by_user=ADMIN)
        fake.add_bot_to_group(-1009990002, "Lain", by_user=ADMIN)
        await harness.settle()
        left = {int(call.params["chat_id"]) for call in fake.calls_of("leaveChat")}
        assert left == {-1009990002}
    finally:
        await harness.stop()


async def test_a_supervisor_who_is_a_person_can_still_use_the_bot(bot: Harness) -> None:
    welcome = await bot.say(SUPERVISOR, "/start")

    assert "Pilih menu" in welcome.content


async def test_the_admin_commands_are_listed_in_the_group_menu_only(bot: Harness) -> None:
    def menu(scope: dict[str, object]) -> list[str]:
        key = (json.dumps(scope, sort_keys=True), "")
        return [c["command"] for c in bot.fake.commands.get(key, [])]

    group = menu({"type": "chat", "chat_id": GROUP})
    assert {"antrian", "laporan", "arsip", "cari"} <= set(group)
    assert "antrian" not in menu({"type": "default"})


async def test_bantuan_in_the_group_lists_the_admin_commands(bot: Harness) -> None:
    help_text = await bot.say(ADMIN, "/bantuan", chat=GROUP)

    for command in ("/antrian", "/laporan", "/arsip", "/cari"):
        assert command in help_text.content
