"""The SOP's step records: opened with their deadlines, finished with the office time they
took, and, when late, explained (by the admin who finished them, or by the system)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import OutboxMessage, StepRecord, Ticket
from chatbot.services.enums import Step
from chatbot.services.notices import NoticeKind
from chatbot.services.sla import whole_minutes
from chatbot.services.tickets.errors import IllegalMove, NotYours, Reason, StaleMove
from chatbot.services.tickets.machine import SYSTEM, Actor, TicketBase

# The recorded explanation of a late step that waited on the requester, not on the staff.
LATE_ON_REQUESTER = "Menunggu pemohon (di luar kendali admin)"
LATE_CANCELLED = "Dibatalkan pemohon sebelum selesai"
LATE_BY_SYSTEM = "Tertunda di sistem (mis. gangguan penyimpanan)"

# A late step's question goes to the admin who finished it; left unanswered this long (they
# are away, or left), any admin may answer it.
LATE_ANSWER_BY_ANY = timedelta(hours=24)


class StepRecords(TicketBase):
    """Open, finish and record steps (never commit), and the late-reason use cases."""

    # ---- late reasons ----------------------------------------------------------------------

    async def explain_late(
        self, *, record_id: int, actor: Actor, reason: str
    ) -> tuple[Ticket, StepRecord]:
        """Record why a step was late, once, by the admin who finished it (a conditional
        UPDATE, so a double tap or a tap racing a typed answer records one reason)."""
        async with self._sessions.begin() as session:
            record = await session.get(StepRecord, record_id, populate_existing=True)
            if record is None or not record.late:
                raise IllegalMove(Reason.NOT_LATE)
            ticket = await self._load(session, record.ticket_id)
            now = self._now()
            if record.late_reason is None and not self.may_explain(record, actor, now):
                raise NotYours(Reason.LATE_QUESTION_FOR_OTHER, ticket, who=record.actor_name)
            open_to_all = now - LATE_ANSWER_BY_ANY
            claimed = await session.execute(
                update(StepRecord)
                .where(
                    StepRecord.id == record_id,
                    StepRecord.late_reason.is_(None),
                    (StepRecord.actor_id == actor.id) | (StepRecord.finished_at <= open_to_all),
                )
                .values(late_reason=reason, late_reason_by=actor.name)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await session.refresh(record)
                raise StaleMove(Reason.LATE_REASON_RECORDED, ticket, who=record.late_reason_by)
            await session.refresh(record)
            self._audit(
                session, ticket, actor, "late_explained", step=int(record.step), reason=reason
            )
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return ticket, record

    async def late_question(self, ticket_id: int, record_id: int) -> str | None:
        """The platform message id of the question asked about a late step, once sent."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.payload, OutboxMessage.platform_message_id).where(
                    OutboxMessage.ticket_id == ticket_id,
                    OutboxMessage.kind == NoticeKind.LATE_REASON,
                    OutboxMessage.platform_message_id.is_not(None),
                )
            )
            for payload, message_id in rows.all():
                if payload.get("record") == record_id:
                    return str(message_id)
        return None

    @staticmethod
    def may_explain(record: StepRecord, actor: Actor, now: datetime) -> bool:
        """The admin who finished the late step; after LATE_ANSWER_BY_ANY, any admin."""
        finished = record.finished_at
        return record.actor_id == actor.id or (
            finished is not None and finished <= now - LATE_ANSWER_BY_ANY
        )

    async def backfill_deadlines(self) -> int:
        """Steps recorded before deadlines were stored (migration 0004): open ones get their
        deadlines, finished ones their office time. Idempotent; nothing to do afterwards."""
        async with self._sessions.begin() as session:
            records = (
                (
                    await session.execute(
                        select(StepRecord).where(
                            StepRecord.standard_minutes.is_not(None),
                            (StepRecord.finished_at.is_(None) & StepRecord.due_at.is_(None))
                            | (
                                StepRecord.finished_at.is_not(None)
                                & StepRecord.office_seconds.is_(None)
                            ),
                        )
                    )
                )
                .scalars()
                .all()
            )
            for record in records:
                if record.finished_at is not None:
                    used = self.policy.used(record.started_at, record.finished_at)
                    record.office_seconds = int(used.total_seconds())
                    continue
                deadlines = self.policy.deadlines(Step(record.step), record.started_at)
                if deadlines is not None:
                    record.due_at, record.escalate_at = deadlines.due_at, deadlines.escalate_at
            return len(records)

    # ---- helpers (never commit) -------------------------------------------------------------

    @staticmethod
    def _current(ticket: Ticket, step: Step) -> StepRecord | None:
        for record in reversed(ticket.steps):
            if record.step == step and record.finished_at is None:
                return record
        return None

    def _open(
        self,
        session: AsyncSession,
        ticket: Ticket,
        step: Step,
        at: datetime,
        actor: Actor | None = None,
        note: str | None = None,
    ) -> None:
        deadlines = self.policy.deadlines(step, at)
        session.add(
            StepRecord(
                ticket=ticket,
                step=step,
                started_at=at,
                standard_minutes=self.policy.standard(step),
                due_at=deadlines.due_at if deadlines else None,
                escalate_at=deadlines.escalate_at if deadlines else None,
                actor_id=actor.id if actor else None,
                actor_name=actor.name if actor else None,
                note=note,
            )
        )

    def _finish(
        self,
        session: AsyncSession,
        ticket: Ticket,
        step: Step,
        actor: Actor | None,
        at: datetime,
        outcome: str,
        note: str | None = None,
    ) -> None:
        record = self._current(ticket, step)
        if record is None:
            self._record(session, ticket, step, actor, at, at, outcome, note)
            return
        record.finished_at, record.outcome = at, outcome
        record.office_seconds = int(self.policy.used(record.started_at, at).total_seconds())
        if actor is not None:
            record.actor_id, record.actor_name = actor.id, actor.name
        if note:
            record.note = f"{record.note}; {note}" if record.note else note
        if record.late:
            self._ask_late_reason(session, ticket, record, actor)

    def _ask_late_reason(
        self, session: AsyncSession, ticket: Ticket, record: StepRecord, actor: Actor | None
    ) -> None:
        """A step finished past its standard: its deviation needs an explanation. An admin
        who finished it is asked; a wait on the requester (step 8) explains itself."""
        if actor is None or actor.id == SYSTEM.id or record.step == Step.DELIVER_RESULT:
            record.late_reason, record.late_reason_by = LATE_ON_REQUESTER, SYSTEM.name
            return
        self._notify(
            session,
            ticket,
            "admins",
            NoticeKind.LATE_REASON,
            record=record.id,
            step=int(record.step),
            actor_id=actor.id,
            actor_name=actor.name,
            minutes=whole_minutes(record.office_seconds or 0),
            standard=record.standard_minutes,
        )

    def _record(
        self,
        session: AsyncSession,
        ticket: Ticket,
        step: Step,
        actor: Actor | None,
        started: datetime,
        finished: datetime,
        outcome: str,
        note: str | None = None,
    ) -> None:
        record = StepRecord(
            ticket=ticket,
            step=step,
            started_at=started,
            finished_at=finished,
            standard_minutes=self.policy.standard(step),
            office_seconds=int(self.policy.used(started, finished).total_seconds()),
            outcome=outcome,
            note=note,
            actor_id=actor.id if actor else None,
            actor_name=actor.name if actor else None,
        )
        if record.late:  # only the system's own steps (the archive) take time here
            record.late_reason, record.late_reason_by = LATE_BY_SYSTEM, SYSTEM.name
        session.add(record)

    def _link_died(
        self, session: AsyncSession, ticket: Ticket, actor: Actor, at: datetime, outcome: str
    ) -> None:
        """Step 8 ends without the requester; step 6 opens again for anyone to re-issue."""
        self._finish(session, ticket, Step.DELIVER_RESULT, actor, at, outcome)
        ticket.result_admin_id = ticket.result_admin_name = None
        self._open(session, ticket, Step.RESET_IN_SPSE, at, note=f"kirim ulang: {outcome}")
