"""What the chats tell a ticket without moving it: where its card is now, whether its
requester can be reached (the platform refused a message for good, or delivered again), and
where the requester's chat moved (WhatsApp: a changed number)."""

from __future__ import annotations

from sqlalchemy import select, update

from chatbot.db.models import OutboxMessage, Requester, Ticket, utcnow
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

    async def mark_unreachable(self, ticket_id: int, reason: str, *, held: bool = False) -> bool:
        """The platform refused a message to the requester for good (they blocked the bot),
        or (`held`) a notice waits for want of a template while their reply window is closed:
        on record, on the card and told to the admins once. True when newly marked."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.requester_unreachable_at is not None:
                return False
            ticket.requester_unreachable_at = utcnow()
            self._audit(session, ticket, SYSTEM, "requester_unreachable", reason=reason[:200])
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            if held:
                self._notify(session, ticket, "admins", NoticeKind.UNREACHABLE, held=True)
            else:
                self._notify(session, ticket, "admins", NoticeKind.UNREACHABLE)
            return True

    async def requester_moved(
        self, *, channel: str, old_chat_id: str, new_chat_id: str, phone: str | None = None
    ) -> list[str]:
        """The requester's chat now has another id (as the admin group's supergroup move):
        their tickets follow, so later messages of the new id reach the same requester, and
        replies not sent yet go to the new id. `phone`: the new number, verified by the
        platform (it is the sender's); it replaces the old one where that was the chat's own.
        The open tickets' numbers (their cards are refreshed); none when nobody moved."""
        old_phone = f"+{old_chat_id}" if old_chat_id.isdigit() else None
        async with self._sessions.begin() as session:
            moving = await session.scalar(
                select(Requester).where(
                    Requester.channel == channel, Requester.chat_id == old_chat_id
                )
            )
            if moving is None:
                return []
            there = await session.scalar(
                select(Requester).where(
                    Requester.channel == channel, Requester.chat_id == new_chat_id
                )
            )
            if there is None:  # the usual case: the row itself moves
                moving.chat_id = moving.platform_user_id = new_chat_id
                there = moving
            else:  # the new id wrote first: the old row's tickets join it
                await session.execute(
                    update(Ticket)
                    .where(Ticket.requester_id == moving.id)
                    .values(requester_id=there.id)
                )
            if phone is not None and there.phone in (None, old_phone):
                there.phone, there.phone_verified = phone, True
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == old_chat_id,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                )
                .values(chat_id=new_chat_id)
            )
            await session.flush()
            tickets = await session.scalars(
                select(Ticket).where(Ticket.requester_id == there.id).order_by(Ticket.id)
            )
            moved = []
            for ticket in tickets.unique():
                if not ticket.state.is_open:
                    continue
                if phone is not None and ticket.phone == old_phone:
                    ticket.phone, ticket.phone_verified = phone, True
                self._audit(session, ticket, SYSTEM, "requester_moved", channel=channel)
                self._notify(session, ticket, "admins", NoticeKind.CARD)
                moved.append(str(ticket.number))
            return moved

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
