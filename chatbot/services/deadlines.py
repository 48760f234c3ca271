"""Steps past their time standard: a reminder to the admin group, then an escalation.

Deadlines are columns of the step records (computed on the office clock when the step
opened), so this sweep is a query: it survives restarts and runs on every worker. Each
reminder and each escalation is claimed by a conditional UPDATE in the transaction that
queues its message, so with any number of workers it is sent exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from chatbot.db.models import AuditEvent, OutboxMessage, StepRecord, Ticket, utcnow
from chatbot.services.enums import OPEN_STATES
from chatbot.services.notices import NoticeKind
from chatbot.services.outages import is_outage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Supervisor:
    """Where escalations go: a chat of the supervisor (e.g. the Kepala Bagian)."""

    channel: str
    chat_id: str


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    escalated: int


class DeadlineWatch:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        supervisor: Supervisor | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._supervisor = supervisor
        self._now = clock

    async def sweep(self) -> SweepResult:
        """Send what is due now; safe to run on several workers at once."""
        reminded = escalated = 0
        try:
            reminded = await self._fire(
                StepRecord.due_at, StepRecord.reminded_at, NoticeKind.STEP_OVERDUE
            )
        finally:  # a failed reminder pass must not hold up the escalations
            escalated = await self._fire(
                StepRecord.escalate_at, StepRecord.escalated_at, NoticeKind.ESCALATION
            )
        return SweepResult(reminded, escalated)

    async def _fire(
        self,
        deadline: InstrumentedAttribute[datetime | None],
        done: InstrumentedAttribute[datetime | None],
        kind: NoticeKind,
    ) -> int:
        now = self._now()
        async with self._sessions() as session:
            due = list(
                (
                    await session.execute(
                        select(StepRecord.id)
                        .join(Ticket, Ticket.id == StepRecord.ticket_id)
                        .where(
                            StepRecord.finished_at.is_(None),
                            deadline.is_not(None),
                            deadline <= now,
                            done.is_(None),
                            Ticket.state.in_(OPEN_STATES),
                        )
                        .order_by(StepRecord.id)
                    )
                ).scalars()
            )
        fired = 0
        for record_id in due:
            try:
                fired += await self._claim(record_id, done, kind, now)
            except Exception as error:
                if is_outage(error):
                    raise  # the database is away: the next sweep tries them all again
                log.exception("%s for step record %s failed; skipped", kind, record_id)
        return fired

    async def _claim(
        self,
        record_id: int,
        done: InstrumentedAttribute[datetime | None],
        kind: NoticeKind,
        now: datetime,
    ) -> int:
        """Claim one step's reminder (escalation) and queue it; 0 if another worker did."""
        async with self._sessions.begin() as session:
            claimed = await session.execute(
                update(StepRecord)
                .where(
                    StepRecord.id == record_id,
                    StepRecord.finished_at.is_(None),
                    done.is_(None),
                )
                .values({done: now})
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return 0  # another worker, or the step finished just now
            record = await session.get(StepRecord, record_id)
            assert record is not None
            self._queue(session, record, kind)
        log.info("%s for step %s of ticket id %s", kind, record.step, record.ticket_id)
        return 1

    def _queue(self, session: AsyncSession, record: StepRecord, kind: NoticeKind) -> None:
        payload: dict[str, Any] = {"record": record.id, "step": int(record.step)}
        to_supervisor = kind is NoticeKind.ESCALATION and self._supervisor is not None
        session.add(
            OutboxMessage(
                ticket_id=record.ticket_id,
                audience="supervisor" if to_supervisor else "admins",
                kind=kind,
                payload=payload,
                channel=self._supervisor.channel if self._supervisor and to_supervisor else None,
                chat_id=self._supervisor.chat_id if self._supervisor and to_supervisor else None,
            )
        )
        session.add(
            OutboxMessage(ticket_id=record.ticket_id, audience="admins", kind=NoticeKind.CARD)
        )
        session.add(
            AuditEvent(
                ticket_id=record.ticket_id,
                actor_id="system",
                actor_name="Sistem",
                action=kind,
                detail=payload,
            )
        )
