"""The admins' checks: completeness (steps 2-3), validity (step 5) and rejection (step 7)."""

from __future__ import annotations

from collections.abc import Iterable

from chatbot.db.models import Ticket
from chatbot.services.enums import MissingItem, Outcome, Step
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets.errors import IllegalMove, Reason
from chatbot.services.tickets.machine import Actor, Move
from chatbot.services.tickets.records import StepRecords


class Checks(StepRecords):
    # ---- steps 2-4: completeness -------------------------------------------------------------

    async def mark_complete(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket, now = await self._move(session, ticket_id, version, Move.COMPLETE, actor)
            self._finish(session, ticket, Step.CHECK_COMPLETENESS, actor, now, "lengkap")
            self._open(session, ticket, Step.CHECK_VALIDITY, now)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_incomplete(
        self,
        *,
        ticket_id: int,
        version: int,
        actor: Actor,
        missing: Iterable[MissingItem],
        note: str | None,
    ) -> Ticket:
        items = sorted({MissingItem(m) for m in missing})
        if not items:
            raise IllegalMove(Reason.NOTHING_PICKED)
        if MissingItem.IDENTITY in items and not (note or "").strip():
            raise IllegalMove(Reason.IDENTITY_NOTE_NEEDED)
        async with self._sessions.begin() as session:
            ticket, now = await self._move(
                session, ticket_id, version, Move.INCOMPLETE, actor, missing=items
            )
            ticket.missing = [m.value for m in items]
            ticket.incomplete_note = note
            ticket.supplement_reminded_at = None  # each round of step 4 gets its reminder
            what = ", ".join(m.value for m in items)
            self._finish(
                session, ticket, Step.CHECK_COMPLETENESS, actor, now, "tidak_lengkap", note=what
            )
            self._record(
                session, ticket, Step.ASK_TO_COMPLETE, actor, now, now, "diminta", note=note
            )
            self._open(
                session,
                ticket,
                Step.SUPPLEMENT,
                now,
                actor=self._requester_actor(ticket),
            )
            self._notify(session, ticket, "requester", NoticeKind.INCOMPLETE)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    # ---- steps 5 and 7: validity -------------------------------------------------------------

    async def confirm_by_phone(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket, _ = await self._move(session, ticket_id, version, Move.CONFIRM_PHONE, actor)
            ticket.phone_confirmed_by = actor.name
            step = self._current(ticket, Step.CHECK_VALIDITY)
            if step is not None:
                step.note = f"dikonfirmasi lewat telepon oleh {actor.name}"
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_valid(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket, now = await self._move(session, ticket_id, version, Move.VALID, actor)
            self._finish(session, ticket, Step.CHECK_VALIDITY, actor, now, "valid")
            self._open(session, ticket, Step.RESET_IN_SPSE, now)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def reject(self, *, ticket_id: int, version: int, actor: Actor, reason: str) -> Ticket:
        """Invalid (step 5) and the rejection notice (step 7): the ticket ends."""
        async with self._sessions.begin() as session:
            ticket, now = await self._move(
                session, ticket_id, version, Move.INVALID, actor, reason=reason
            )
            ticket.rejection_reason = reason
            ticket.outcome = Outcome.REJECTED
            ticket.closed_at = now
            self._finish(
                session, ticket, Step.CHECK_VALIDITY, actor, now, "tidak_valid", note=reason
            )
            self._record(
                session, ticket, Step.NOTIFY_REJECTION, actor, now, now, "ditolak", note=reason
            )
            self._notify(session, ticket, "requester", NoticeKind.REJECTED)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)
