"""The admins' `/cari`: tickets by number, NIP (whole, or its last digits) or name, audited
with what kind of search it was and which tickets were shown, never a NIP or a name typed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import AuditEvent, Ticket
from chatbot.services.identity import InputProblem, InvalidInput
from chatbot.services.tickets.machine import Actor, TicketBase, parse_ticket_number

SEARCH_LIMIT = 10

QueryKind = Literal["number", "nip", "name"]
_NUMBER = re.compile(r"^\d{4}-\d{4,8}$")
_DIGITS = re.compile(r"^[\d\s.]+$")


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    value: str  # a ticket number, NIP digits (whole or the last ones), or a name fragment


def parse_query(text: str) -> Query:
    """What an admin typed after /cari; InvalidInput saying why when it cannot be used.

    A ticket number: 2611-0042, or 8-12 digits (26110042). A NIP: digits, spaces or dots
    allowed, all 18 or at least the last 4. A name: at least 3 characters.
    """
    text = " ".join(text.split())
    if _NUMBER.match(text):
        return Query("number", text)
    if _DIGITS.match(text):
        digits = re.sub(r"\D", "", text)
        number = parse_ticket_number(digits)
        if number is not None:  # 8-12 digits; searched as a NIP's end too if no ticket has it
            return Query("number", number)
        if len(digits) > 18:
            raise InvalidInput(InputProblem.SEARCH_NIP_TOO_LONG)
        if len(digits) < 4:
            raise InvalidInput(InputProblem.SEARCH_NIP_TOO_SHORT)
        return Query("nip", digits)
    if len(text) < 3:
        raise InvalidInput(InputProblem.SEARCH_NAME_TOO_SHORT)
    return Query("name", text[:100])


@dataclass(frozen=True)
class SearchResult:
    query: Query
    tickets: list[Ticket]  # newest first, at most the limit
    total: int


class Search(TicketBase):
    async def search(self, text: str, *, actor: Actor, limit: int = SEARCH_LIMIT) -> SearchResult:
        """Tickets by number (exact), NIP (whole, or its last digits) or name (a part of it,
        any case), newest first; InvalidInput when the query cannot be used. A ticket number
        that finds nothing is tried as the end of a NIP. The search is audited with what was
        looked for by kind and which tickets were shown, never a NIP or a name typed."""
        query = parse_query(text)
        async with self._sessions() as session:
            tickets, total = await _find(session, query, limit)
            if total == 0 and query.kind == "number" and "-" not in text:
                query = Query("nip", re.sub(r"\D", "", text))
                tickets, total = await _find(session, query, limit)
        detail: dict[str, Any] = {
            "kind": query.kind,
            "results": total,
            "shown": [t.number for t in tickets],
        }
        if query.kind == "number":
            detail["number"] = query.value
        async with self._sessions.begin() as session:
            session.add(
                AuditEvent(
                    ticket_id=None,
                    actor_id=actor.id,
                    actor_name=actor.name,
                    action="searched",
                    detail=detail,
                )
            )
        return SearchResult(query, tickets, total)


async def _find(session: AsyncSession, query: Query, limit: int) -> tuple[list[Ticket], int]:
    if query.kind == "number":
        condition = Ticket.number == query.value
    elif query.kind == "nip":
        match = (
            Ticket.nip == query.value
            if len(query.value) == 18
            else Ticket.nip.endswith(query.value, autoescape=True)
        )
        condition = match & Ticket.purged_at.is_(None)
    else:
        condition = Ticket.full_name.icontains(query.value, autoescape=True) & (
            Ticket.purged_at.is_(None)
        )
    total = await session.scalar(select(func.count(Ticket.id)).where(condition)) or 0
    rows = await session.execute(
        select(Ticket)
        .where(condition)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(rows.unique().scalars()), total
