"""How a ticket leaves the flow by someone's hand: the requester cancels, or the archive
(step 9) is written. The sweeps that close tickets live in `sweeps.py`."""

from __future__ import annotations

from datetime import datetime

from chatbot.db.models import Ticket
from chatbot.services.enums import Outcome, Step
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets.errors import IllegalMove, Reason
from chatbot.services.tickets.machine import SYSTEM, Actor, Move, S
from chatbot.services.tickets.records import LATE_CANCELLED, StepRecords


class Ending(StepRecords):
    async def cancel(self, *, ticket_id: int, channel: str, chat_id: str, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            self._check_owner(ticket, channel, chat_id)
            if ticket.incidents:
                # A password someone else saw is still set in SPSE: the admins must reset it.
                raise IllegalMove(Reason.INCIDENT_OPEN, ticket)
            ticket, now = await self._move(session, ticket_id, ticket.version, Move.CANCEL, actor)
            ticket.outcome = Outcome.CANCELLED
            ticket.closed_at = now
            for step in ticket.steps:
                if step.finished_at is None:
                    step.finished_at, step.outcome = now, "dibatalkan_pemohon"
                    step.office_seconds = int(
                        self.policy.used(step.started_at, now).total_seconds()
                    )
                    if step.late:
                        step.late_reason, step.late_reason_by = LATE_CANCELLED, SYSTEM.name
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_archived(
        self, *, ticket_id: int, archive_path: str, started_at: datetime
    ) -> Ticket:
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.state == S.RECEIVED and ticket.outcome is None:
                raise IllegalMove(Reason.AWAITING_CONFIRMATION, ticket)
            ticket, now = await self._move(
                session, ticket_id, ticket.version, Move.ARCHIVE, SYSTEM, path=archive_path
            )
            ticket.archive_path = archive_path
            self._record(
                session,
                ticket,
                Step.ARCHIVE,
                SYSTEM,
                started_at,
                now,
                "diarsipkan",
                note=archive_path,
            )
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)
