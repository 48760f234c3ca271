"""Deadlines on the office clock: stored with each step, reminded and escalated exactly once
(two workers included), late steps asked for a reason, step 4 reminded and expired."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations.texts import ticket_error
from chatbot.db.engine import create_engine, create_sessionmaker
from chatbot.db.models import OutboxMessage, StepRecord, Ticket
from chatbot.services.deadlines import DeadlineWatch, Supervisor
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import MissingItem, Outcome, Step, TicketState
from chatbot.services.tickets import NotYours, StaleMove, TicketService
from chatbot.settings import Settings
from tests.factories import ADMIN, ADMIN_2, REQUESTER, documents, submitted_ticket

WIB = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB).astimezone(UTC)  # type: ignore[misc]


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def service(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> TicketService:
    return TicketService(sessions, settings.zone, clock, policy=settings.sla_policy())


async def rows(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        found = await session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return list(found.scalars())


async def test_a_saturday_night_request_is_due_on_monday_morning(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    clock = Clock(wib(2026, 11, 21, 21, 0))  # Saturday 21.00 WIB
    tickets = service(sessions, settings, clock)

    ticket = await submitted_ticket(tickets, files)

    check = ticket.steps[1]
    assert check.step == Step.CHECK_COMPLETENESS and check.standard_minutes == 5
    assert check.due_at == wib(2026, 11, 23, 7, 35)  # Monday 07.30 + 5 office minutes
    assert check.escalate_at == wib(2026, 11, 23, 7, 40)  # twice the standard


async def test_reminder_then_escalation_each_once_and_only_when_due(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    clock = Clock(wib(2026, 11, 26, 15, 57))  # Thursday, 3 minutes before closing
    tickets = service(sessions, settings, clock)
    ticket = await submitted_ticket(tickets, files)
    watch = DeadlineWatch(sessions, Supervisor("telegram", "-100777"), clock)

    clock.now = wib(2026, 11, 26, 20, 0)  # evening: 3 office minutes used, not due
    assert (await watch.sweep()).reminded == 0
    clock.now = wib(2026, 11, 27, 7, 31)  # Friday 07.31: 4 office minutes, still not due
    assert (await watch.sweep()).reminded == 0

    clock.now = wib(2026, 11, 27, 7, 33)  # past 07.32, the 5th office minute
    first = await watch.sweep()
    again = await watch.sweep()

    assert (first.reminded, first.escalated, again.reminded) == (1, 0, 0)
    [overdue] = await rows(sessions, "step_overdue")
    assert overdue.audience == "admins" and overdue.payload["step"] == Step.CHECK_COMPLETENESS

    clock.now = wib(2026, 11, 27, 7, 38)  # 10 office minutes: twice the standard
    assert (await watch.sweep()).escalated == 1
    assert (await watch.sweep()).escalated == 0
    [escalation] = await rows(sessions, "escalation")
    assert (escalation.audience, escalation.chat_id) == ("supervisor", "-100777")

    # Finishing the step stops it all; it was late, so its admin is asked why.
    await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    [ask] = await rows(sessions, "late_reason")
    assert ask.payload["actor_id"] == ADMIN.id and ask.payload["minutes"] == 11
    assert ask.payload["standard"] == 5


class Racing(DeadlineWatch):
    """A worker that, before its first claim of each kind, waits until the other worker has
    read its due steps too."""

    def __init__(self, *args: Any, barriers: dict[str, asyncio.Barrier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.barriers = barriers
        self.raced: set[str] = set()

    async def _claim(self, record_id: int, done: Any, kind: str, now: datetime) -> int:
        if kind not in self.raced:
            self.raced.add(kind)
            await self.barriers[kind].wait()
        return await super()._claim(record_id, done, kind, now)


async def test_two_workers_sweeping_at_once_send_each_reminder_once(
    engine: object, settings: Settings, files: DocumentStore
) -> None:
    """Two workers = two engines (connection pools) on one database, sweeping together. The
    worst interleaving is forced: both have read the same due steps before either claims."""
    clock = Clock(wib(2026, 11, 24, 9, 0))  # Tuesday
    engines = [create_engine(settings.database_url) for _ in range(2)]
    try:
        pools = [create_sessionmaker(e) for e in engines]
        tickets = service(pools[0], settings, clock)
        for n in range(8):
            await submitted_ticket(tickets, files, chat_id=str(3000 + n))
        barriers = {kind: asyncio.Barrier(2) for kind in ("step_overdue", "escalation")}
        watches = [Racing(pool, None, clock, barriers=barriers) for pool in pools]
        clock.now = wib(2026, 11, 24, 9, 30)  # every check is past due and past escalation

        results = list(await asyncio.gather(*(w.sweep() for w in watches)))
        assert all(w.raced == {"step_overdue", "escalation"} for w in watches)
        results += await asyncio.gather(*(w.sweep() for w in watches))  # nothing left

        assert sum(r.reminded for r in results) == 8
        assert sum(r.escalated for r in results) == 8
        overdue = await rows(pools[0], "step_overdue")
        escalations = await rows(pools[0], "escalation")
        assert len({r.ticket_id for r in overdue}) == len(overdue) == 8
        assert len({r.ticket_id for r in escalations}) == len(escalations) == 8
        # Without a supervisor chat the escalation goes to the admin group.
        assert {r.audience for r in escalations} == {"admins"}
    finally:
        for e in engines:
            await e.dispose()


async def test_a_step_within_its_standard_asks_nothing(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    clock = Clock(wib(2026, 11, 24, 15, 58))
    tickets = service(sessions, settings, clock)
    ticket = await submitted_ticket(tickets, files)
    clock.now = wib(2026, 11, 25, 7, 32)  # overnight, but 4 office minutes

    done = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)

    check = done.steps[1]
    assert check.office_seconds == 4 * 60 and not check.late
    assert await rows(sessions, "late_reason") == []


async def finished_late(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> tuple[TicketService, Clock, StepRecord]:
    """Step 2 opened on a Tuesday at 09.00 and finished by ADMIN at 09.20: 20 office
    minutes against its 5."""
    clock = Clock(wib(2026, 11, 24, 9, 0))
    tickets = service(sessions, settings, clock)
    ticket = await submitted_ticket(tickets, files)
    clock.now = wib(2026, 11, 24, 9, 20)
    done = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    return tickets, clock, done.steps[1]


async def test_the_late_reason_is_recorded_once_by_the_admin_who_finished(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    tickets, _, record = await finished_late(sessions, settings, files)

    with pytest.raises(NotYours):
        await tickets.explain_late(record_id=record.id, actor=ADMIN_2, reason="Rapat")
    _, explained = await tickets.explain_late(
        record_id=record.id, actor=ADMIN, reason="SPSE / jaringan bermasalah"
    )
    with pytest.raises(StaleMove):
        await tickets.explain_late(record_id=record.id, actor=ADMIN, reason="Lain")

    assert (explained.late_reason, explained.late_reason_by) == (
        "SPSE / jaringan bermasalah",
        ADMIN.name,
    )


async def ask_for_the_sk(tickets: TicketService, ticket: Ticket) -> Ticket:
    """Tidak lengkap: the SK is missing (step 4 waits on the requester)."""
    return await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.SK],
        note=None,
    )


async def test_step_four_is_reminded_once_then_expires_with_notice(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    clock = Clock(wib(2026, 11, 24, 9, 0))
    tickets = service(sessions, settings, clock)
    ticket = await submitted_ticket(tickets, files)
    await ask_for_the_sk(tickets, ticket)

    clock.now += timedelta(days=1)
    assert await tickets.remind_supplements(after=timedelta(days=2)) == []
    clock.now += timedelta(days=1, minutes=1)
    reminded = await asyncio.gather(
        tickets.remind_supplements(after=timedelta(days=2)),
        tickets.remind_supplements(after=timedelta(days=2)),
    )
    assert sum(len(r) for r in reminded) == 1
    assert len(await rows(sessions, "supplement_reminder")) == 1

    assert await tickets.expire_supplements(after=timedelta(days=7)) == []
    clock.now += timedelta(days=5)
    [expired] = await tickets.expire_supplements(after=timedelta(days=7))

    assert expired.state == TicketState.EXPIRED and expired.outcome == Outcome.EXPIRED
    assert expired.closed_at == clock.now
    supplement = next(r for r in expired.steps if r.step == Step.SUPPLEMENT)
    assert supplement.outcome == "kedaluwarsa"
    assert [r.audience for r in await rows(sessions, "expired")] == ["requester"]
    assert ticket.id in await tickets.unarchived_ended()


async def test_open_tickets_lists_only_those_in_the_flow(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    clock = Clock(wib(2026, 11, 24, 9, 0))
    tickets = service(sessions, settings, clock)
    waiting = await submitted_ticket(tickets, files, chat_id="1")
    rejected = await submitted_ticket(tickets, files, chat_id="2")
    rejected = await tickets.mark_complete(
        ticket_id=rejected.id, version=rejected.version, actor=ADMIN
    )
    await tickets.reject(ticket_id=rejected.id, version=rejected.version, actor=ADMIN, reason="x")

    assert [t.id for t in await tickets.open_tickets()] == [waiting.id]


async def test_step_records_keep_their_deadlines_in_the_database(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    """A restart loses nothing: the deadline is a column, read back by a new service."""
    clock = Clock(wib(2026, 11, 27, 16, 27))  # Friday 16.27, closing at 16.30
    await submitted_ticket(service(sessions, settings, clock), files)

    async with sessions() as session:
        due = (
            await session.execute(select(StepRecord.due_at).where(StepRecord.finished_at.is_(None)))
        ).scalar_one()

    assert due == wib(2026, 11, 30, 7, 32)  # 3 min on Friday, 2 on Monday from opening


async def test_each_round_of_step_four_gets_its_own_reminder(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    clock = Clock(wib(2026, 11, 24, 9, 0))
    tickets = service(sessions, settings, clock)
    ticket = await submitted_ticket(tickets, files)
    ticket = await ask_for_the_sk(tickets, ticket)
    clock.now += timedelta(days=3)
    assert len(await tickets.remind_supplements(after=timedelta(days=2))) == 1
    ticket = await tickets.supplement(
        ticket_id=ticket.id,
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER,
        documents=documents(files),
        identity=None,
    )
    await ask_for_the_sk(tickets, ticket)

    clock.now += timedelta(days=3)
    assert len(await tickets.remind_supplements(after=timedelta(days=2))) == 1
    assert len(await rows(sessions, "supplement_reminder")) == 2


async def test_a_link_not_opened_is_reminded_but_never_escalated(settings: Settings) -> None:
    """Step 8 waits on the requester: the group hears of it, the supervisor does not."""
    policy = settings.sla_policy()
    start = wib(2026, 11, 24, 9, 0)

    deliver = policy.deadlines(Step.DELIVER_RESULT, start)
    reset = policy.deadlines(Step.RESET_IN_SPSE, start)

    assert deliver is not None and deliver.due_at == wib(2026, 11, 24, 9, 10)
    assert deliver.escalate_at is None
    assert reset is not None and reset.escalate_at == wib(2026, 11, 24, 9, 10)
    assert policy.deadlines(Step.SUPPLEMENT, start) is None


async def test_steps_from_before_the_deadlines_get_them_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    """After migration 0004, older open steps get deadlines and finished ones office time."""
    clock = Clock(wib(2026, 11, 24, 9, 0))
    tickets = service(sessions, settings, clock)
    ticket = await submitted_ticket(tickets, files)
    clock.now = wib(2026, 11, 24, 9, 3)
    await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    async with sessions.begin() as session:
        for record in (await session.execute(select(StepRecord))).scalars():
            record.due_at = record.escalate_at = None
            record.office_seconds = None

    assert await tickets.backfill_deadlines() == 2  # step 2 finished, step 5 open (1 is N/A)
    assert await tickets.backfill_deadlines() == 0

    fresh = await tickets.get(ticket.id)
    check, validity = fresh.steps[1], fresh.steps[2]
    assert check.office_seconds == 180
    assert validity.due_at == wib(2026, 11, 24, 9, 13)
    assert validity.escalate_at == wib(2026, 11, 24, 9, 23)


async def test_a_late_question_left_a_day_may_be_answered_by_another_admin(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, files: DocumentStore
) -> None:
    tickets, clock, record = await finished_late(sessions, settings, files)

    clock.now += timedelta(hours=23)
    with pytest.raises(NotYours) as refused:
        await tickets.explain_late(record_id=record.id, actor=ADMIN_2, reason="Cuti")
    assert "24 jam" in ticket_error(refused.value)
    clock.now += timedelta(hours=1)
    _, explained = await tickets.explain_late(
        record_id=record.id, actor=ADMIN_2, reason="Admin yang bertugas sedang cuti"
    )

    assert explained.late_reason_by == ADMIN_2.name
