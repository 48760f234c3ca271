"""Reading tickets: by number, a requester's own, the admins' queue of open ones, and the
ended ones still waiting for their archive."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.db.models import Requester, Ticket
from chatbot.services.enums import OPEN_STATES, Outcome
from chatbot.services.tickets.machine import S, TicketBase


class Queries(TicketBase):
    async def find_by_number(self, number: str) -> Ticket | None:
        async with self._sessions() as session:
            result = await session.execute(select(Ticket).where(Ticket.number == number))
            return result.unique().scalar_one_or_none()

    async def for_requester(self, *, channel: str, chat_id: str, limit: int = 10) -> list[Ticket]:
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket)
                .join(Requester)
                .where(Requester.channel == channel, Requester.chat_id == chat_id)
                .order_by(Ticket.id.desc())
                .limit(limit)
            )
            return list(result.unique().scalars())

    async def open_tickets(self) -> list[Ticket]:
        """Every ticket still in the SOP's flow, oldest first (the admins' queue)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket).where(Ticket.state.in_(OPEN_STATES)).order_by(Ticket.id)
            )
            return list(result.unique().scalars())

    async def unarchived_ended(self) -> list[int]:
        """Tickets that ended but whose archive was not written (e.g. a crash in between)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket.id).where(
                    Ticket.state.in_([S.REJECTED, S.CANCELLED, S.EXPIRED])
                    | ((Ticket.state == S.RECEIVED) & (Ticket.outcome == Outcome.COMPLETED))
                )
            )
            return list(result.scalars())
