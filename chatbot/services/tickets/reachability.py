"""What the chats tell a ticket without moving it: where its card is now, and whether its
requester can be reached (the platform refused a message for good, or delivered again)."""

from __future__ import annotations

from sqlalchemy import update

from chatbot.db.models import Ticket, utcnow
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets.machine import SYSTEM, TicketBase


class Reachability(TicketBase):
    async def move_card(self, *, ticket_id: int, message_id: str) -> None:
        """The ticket's card is now this group message (sent again at an admin's request):
        later edits, reminders and alerts go to it. Not a state change, so no version bump."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(admin_message_id=message_id)
            )

    async def mark_unreachable(self, ticket_id: int, reason: str) -> bool:
        """The platform refused a message to the requester for good (they blocked the bot):
        on record, on the card and told to the admins once. True when newly marked."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.requester_unreachable_at is not None:
                return False
            ticket.requester_unreachable_at = utcnow()
            self._audit(session, ticket, SYSTEM, "requester_unreachable", reason=reason[:200])
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            self._notify(session, ticket, "admins", NoticeKind.UNREACHABLE)
            return True

    async def mark_reachable(self, ticket_id: int) -> None:
        """A message reached the requester again: the card stops warning."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.requester_unreachable_at.is_not(None))
                .values(requester_unreachable_at=None)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return
            ticket = await self._load(session, ticket_id)
            self._audit(session, ticket, SYSTEM, "requester_reachable")
            self._notify(session, ticket, "admins", NoticeKind.CARD)
