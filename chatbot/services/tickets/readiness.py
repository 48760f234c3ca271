"""Ready to receive (WhatsApp): a requester whose reply window is closed or closing is asked
to say they are ready before the one-time link is handed over, so the link's key never waits
in a queue for a window to open. Neither move changes the ticket's state or version: the
card's Kirim hasil stays the button to tap."""

from __future__ import annotations

from datetime import datetime

from chatbot.db.models import Ticket
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets.errors import IllegalMove, Reason, StaleMove
from chatbot.services.tickets.machine import Actor, S, TicketBase


class Readiness(TicketBase):
    async def ask_ready(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        """An admin tapped Kirim hasil while the requester's window is closed or closing: the
        requester is asked to tap "Siap menerima" (a template outside the window); any
        earlier readiness is void."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.version != version:
                session.expunge(ticket)
                raise StaleMove(Reason.ALREADY_HANDLED, ticket)
            if ticket.state != S.VALID:
                session.expunge(ticket)
                raise IllegalMove(Reason.NOT_AWAITING_RESULT, ticket)
            ticket.ready_asked_at, ticket.ready_at = self._now(), None
            self._audit(session, ticket, actor, "ready_asked")
            self._notify(session, ticket, "requester", NoticeKind.RESULT_READY)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_ready(
        self, *, ticket_id: int, channel: str, chat_id: str, actor: Actor, at: datetime
    ) -> Ticket:
        """The requester tapped "Siap menerima" (written at `at`): their window is open from
        then, in this commit; the card shows it and the admins are told. Refused (nothing
        changes) unless the ticket waits for its result and its requester was asked."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            self._check_owner(ticket, channel, chat_id)
            if ticket.state != S.VALID or ticket.ready_asked_at is None:
                session.expunge(ticket)
                raise IllegalMove(Reason.NOT_AWAITING_RESULT, ticket)
            requester = ticket.requester
            if requester.last_inbound_at is None or requester.last_inbound_at < at:
                requester.last_inbound_at = at
            ticket.ready_at = self._now()
            self._audit(session, ticket, actor, "ready")
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            self._notify(session, ticket, "admins", NoticeKind.RESULT_READY)
        return await self.get(ticket_id)
