"""The one skeleton of every sweep, safe with any number of workers sweeping together.

Select the candidates; then claim each in its own transaction, by a conditional UPDATE or a
version-checked move, queueing its notices in that same transaction. A claim that loses (it
returns None, or the move is refused as stale or illegal: another worker, or the person
acting just now) leaves that candidate alone. Each sweep gives only what differs: which rows
are due, and how one is claimed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import Ticket
from chatbot.services.tickets.errors import IllegalMove, StaleMove
from chatbot.services.tickets.records import StepRecords

T = TypeVar("T")
C = TypeVar("C")
Ts = TypeVarTuple("Ts")


async def mark_ticket(
    session: AsyncSession, ticket_id: int, *still: ColumnElement[bool], **values: Any
) -> bool:
    """Set `values` on the ticket only while the `still` conditions hold; True when this
    call did. For bookkeeping that is not a move (a reminder sent), so no version bump."""
    claimed = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, *still)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


class Sweeping(StepRecords):
    async def _sweep(
        self,
        due: Select[*Ts],
        claim: Callable[[AsyncSession, Row[*Ts]], Awaitable[T | None]],
    ) -> list[T]:
        """Claim each row `due` selects; what the claims that won returned, in order."""
        async with self._sessions() as session:
            candidates = (await session.execute(due)).all()
        won = []
        for candidate in candidates:
            result = await self._claim(claim, candidate)
            if result is not None:
                won.append(result)
        return won

    async def _sweep_tickets(
        self,
        due: Select[*Ts],
        claim: Callable[[AsyncSession, Row[*Ts]], Awaitable[int | None]],
    ) -> list[Ticket]:
        """`_sweep` for claims that return the id of the ticket they changed: the tickets as
        committed."""
        return [await self.get(ticket_id) for ticket_id in await self._sweep(due, claim)]

    async def _claim(
        self, claim: Callable[[AsyncSession, C], Awaitable[T | None]], candidate: C
    ) -> T | None:
        """One claim in its own transaction; None when it lost."""
        try:
            async with self._sessions.begin() as session:
                return await claim(session, candidate)
        except (StaleMove, IllegalMove):
            return None
