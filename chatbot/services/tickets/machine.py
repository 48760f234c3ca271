"""The SOP as a state machine: which moves exist, where each may start and lead, and the one
door (`TicketBase._move`) every move goes through, refusing illegal and stale ones.

`TicketBase` also holds what every part of the service shares: the sessions, the zone, the
clock, the SLA policy, and the helpers that add audit events and outbox rows (they never
commit: the use case that calls them owns the transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import AuditEvent, OutboxMessage, Ticket, utcnow
from chatbot.services.enums import TicketState
from chatbot.services.notices import NoticeKind
from chatbot.services.office_hours import OfficeCalendar
from chatbot.services.sla import DEFAULT_STANDARDS, SlaPolicy
from chatbot.services.tickets.errors import (
    IllegalMove,
    NotYours,
    Reason,
    StaleMove,
    TicketNotFound,
)

S = TicketState


@dataclass(frozen=True)
class Actor:
    """Who acts: a platform-qualified id ("telegram:123") and a display name."""

    id: str
    name: str


SYSTEM = Actor(id="system", name="Sistem")


class Move(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    SUPPLEMENT = "supplement"
    CONFIRM_PHONE = "confirm_phone"
    VALID = "valid"
    INVALID = "invalid"
    CLAIM_RESULT = "claim_result"
    DELIVER = "deliver"
    RECEIVE = "receive"
    CONFIRM_LOGIN = "confirm_login"
    CLOSE_UNCONFIRMED = "close_unconfirmed"
    INCIDENT = "incident"
    EXPIRE_LINK = "expire_link"
    REVOKE_LINK = "revoke_link"
    LOSE_LINK = "lose_link"
    CANCEL = "cancel"
    EXPIRE = "expire"
    ARCHIVE = "archive"


# The SOP's flow: which states a move may start from, and where it leads.
MOVES: dict[Move, tuple[frozenset[TicketState], TicketState]] = {
    Move.COMPLETE: (frozenset({S.SUBMITTED, S.SUPPLEMENTED}), S.COMPLETE),
    Move.INCOMPLETE: (frozenset({S.SUBMITTED, S.SUPPLEMENTED}), S.INCOMPLETE),
    Move.SUPPLEMENT: (frozenset({S.INCOMPLETE}), S.SUPPLEMENTED),
    Move.CONFIRM_PHONE: (frozenset({S.COMPLETE}), S.COMPLETE),
    Move.VALID: (frozenset({S.COMPLETE}), S.VALID),
    Move.INVALID: (frozenset({S.COMPLETE}), S.REJECTED),
    Move.CLAIM_RESULT: (frozenset({S.VALID}), S.VALID),
    Move.DELIVER: (frozenset({S.VALID}), S.DELIVERED),
    Move.RECEIVE: (frozenset({S.DELIVERED}), S.RECEIVED),
    Move.CONFIRM_LOGIN: (frozenset({S.RECEIVED}), S.RECEIVED),
    Move.CLOSE_UNCONFIRMED: (frozenset({S.RECEIVED}), S.RECEIVED),
    # A link that died unopened, or one opened by someone else: back to step 6, re-issue.
    Move.INCIDENT: (frozenset({S.RECEIVED}), S.VALID),
    Move.EXPIRE_LINK: (frozenset({S.DELIVERED}), S.VALID),
    Move.REVOKE_LINK: (frozenset({S.DELIVERED}), S.VALID),
    # The store lost the sealed secret before anyone opened it (Redis without persistence).
    Move.LOSE_LINK: (frozenset({S.DELIVERED}), S.VALID),
    Move.CANCEL: (
        frozenset({S.SUBMITTED, S.INCOMPLETE, S.SUPPLEMENTED, S.COMPLETE, S.VALID}),
        S.CANCELLED,
    ),
    Move.EXPIRE: (frozenset({S.INCOMPLETE}), S.EXPIRED),
    Move.ARCHIVE: (frozenset({S.RECEIVED, S.REJECTED, S.CANCELLED, S.EXPIRED}), S.ARCHIVED),
}


def ticket_number(ticket_id: int, created_at: datetime, zone: ZoneInfo) -> str:
    """Short and typeable: year-month of submission and the ticket's serial, e.g. 2611-0042."""
    return f"{created_at.astimezone(zone):%y%m}-{ticket_id:04d}"


def parse_ticket_number(text: str) -> str | None:
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 8 or len(digits) > 12:
        return None
    return f"{digits[:4]}-{digits[4:]}"


class TicketBase:
    """The shared state of the ticket service and its one door for moves."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        policy: SlaPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._zone = zone
        self._now = clock
        self.policy = policy or SlaPolicy(OfficeCalendar(zone), DEFAULT_STANDARDS)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    async def get(self, ticket_id: int) -> Ticket:
        async with self._sessions() as session:
            return await self._load(session, ticket_id)

    # ---- the one door ------------------------------------------------------------------------

    async def _move(
        self,
        session: AsyncSession,
        ticket_id: int,
        version: int,
        move: Move,
        actor: Actor,
        **detail: Any,
    ) -> tuple[Ticket, datetime]:
        """Check and apply a move; refuse illegal or stale ones; audit it."""
        ticket = await self._load(session, ticket_id)
        sources, target = MOVES[move]
        if ticket.version != version:
            session.expunge(ticket)  # keep it readable for the caller after the rollback
            raise StaleMove(Reason.ALREADY_HANDLED, ticket)
        if ticket.state not in sources:
            session.expunge(ticket)
            raise IllegalMove(Reason.NOT_NOW, ticket)
        now = self._now()
        changed = target != ticket.state
        values: dict[str, Any] = {
            "version": version + 1,
            "state": target,
            "last_actor_name": actor.name,
        }
        if changed:
            values["state_since"] = now
        result = await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.version == version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleMove(Reason.ALREADY_HANDLED, await self.get(ticket_id))
        from_state = ticket.state
        await session.refresh(ticket)
        self._audit(
            session,
            ticket,
            actor,
            move.value,
            from_state=from_state.value,
            to_state=target.value,
            version=version + 1,
            **detail,
        )
        return ticket, now

    # ---- helpers (never commit) -------------------------------------------------------------

    async def _load(self, session: AsyncSession, ticket_id: int) -> Ticket:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None:
            raise TicketNotFound(Reason.NOT_FOUND)
        return ticket

    @staticmethod
    def _requester_actor(ticket: Ticket) -> Actor:
        who = ticket.requester
        return Actor(f"{who.channel}:{who.platform_user_id}", ticket.full_name)

    @staticmethod
    def _check_owner(ticket: Ticket, channel: str, chat_id: str) -> None:
        if (ticket.requester.channel, ticket.requester.chat_id) != (channel, chat_id):
            raise NotYours(Reason.NOT_YOURS)

    @staticmethod
    def _audit(
        session: AsyncSession, ticket: Ticket | None, actor: Actor, action: str, **detail: Any
    ) -> None:
        session.add(
            AuditEvent(
                ticket_id=ticket.id if ticket else None,
                actor_id=actor.id,
                actor_name=actor.name,
                action=action,
                detail={k: v for k, v in detail.items() if v is not None},
            )
        )

    @staticmethod
    def _notify(
        session: AsyncSession, ticket: Ticket, audience: str, kind: NoticeKind, **payload: Any
    ) -> None:
        requester = ticket.requester
        session.add(
            OutboxMessage(
                ticket_id=ticket.id,
                audience=audience,
                kind=kind,
                payload=payload,
                channel=requester.channel if audience == "requester" else None,
                chat_id=requester.chat_id if audience == "requester" else None,
            )
        )
