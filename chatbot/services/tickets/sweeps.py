"""The periodic sweeps over tickets and links, each on `Sweeping`'s one skeleton: unrecorded
and expired links, links whose ciphertext was lost, confirmation reminders and closing, and
step 4's reminder and expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import CredentialLink, Ticket
from chatbot.services.enums import Outcome, Step
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets.errors import IllegalMove, Reason
from chatbot.services.tickets.links import find_link, mark_link, ticket_of_link
from chatbot.services.tickets.machine import SYSTEM, Move, S
from chatbot.services.tickets.sweeping import Sweeping, mark_ticket

LINK = CredentialLink


class Sweeps(Sweeping):
    # ---- links -------------------------------------------------------------------------------

    async def abandon_unsent_links(self, *, older_than: timedelta) -> list[str]:
        """The sweep: links written down before sending but never recorded as sent (the
        process died in between). Each is marked dead (a conditional UPDATE, so a late
        recording and the sweep cannot both win) and, when its ticket still waits for the
        result, the group is told to re-issue. Returns the hashes, whose ciphertext the
        caller removes from the store."""
        now = self._now()
        due = select(LINK.id, LINK.link_hash).where(
            LINK.sent_at.is_(None),
            LINK.revoked_at.is_(None),
            LINK.opened_at.is_(None),
            LINK.expired_at.is_(None),
            LINK.created_at <= now - older_than,
        )

        async def give_up(session: AsyncSession, row: Row[int, str]) -> str | None:
            link_id, hashed = row
            if not await mark_link(
                session,
                link_id,
                LINK.sent_at.is_(None),
                LINK.revoked_at.is_(None),
                revoked_at=now,
                revoked_by=SYSTEM.name,
            ):
                return None  # recorded just now, or another worker's sweep
            ticket = await self._load(session, await ticket_of_link(session, link_id))
            self._audit(session, ticket, SYSTEM, "link_unsent", link=hashed[:12])
            latest = ticket.latest_link
            if ticket.state == S.VALID and latest is not None and latest.id == link_id:
                self._notify(session, ticket, "admins", NoticeKind.LINK_UNSENT)
                self._notify(session, ticket, "admins", NoticeKind.CARD)
            return hashed

        return await self._sweep(due, give_up)

    async def expire_links(self) -> list[Ticket]:
        """The sweep: links that expired unopened send their tickets back for a re-issue.

        Safe with several workers: each ticket moves once (version-checked), the loser skips.
        """
        now = self._now()
        due = (
            select(Ticket.id, Ticket.version)
            .join(LINK, LINK.ticket_id == Ticket.id)
            .where(
                Ticket.state == S.DELIVERED,
                LINK.expires_at <= now,
                LINK.sent_at.is_not(None),
                LINK.opened_at.is_(None),
                LINK.revoked_at.is_(None),
                LINK.expired_at.is_(None),
                LINK.lost_at.is_(None),
            )
        )

        async def expire(session: AsyncSession, row: Row[int, int]) -> int | None:
            ticket_id, version = row
            ticket, at = await self._move(session, ticket_id, version, Move.EXPIRE_LINK, SYSTEM)
            link = ticket.latest_link
            if link is None:
                raise IllegalMove(Reason.NO_LINK)
            # Conditional, so a reveal that committed just now wins over the sweep: the
            # ticket's current link, and only once it is due.
            if not await mark_link(
                session,
                link.id,
                LINK.expires_at <= now,
                LINK.opened_at.is_(None),
                LINK.revoked_at.is_(None),
                LINK.lost_at.is_(None),
                expired_at=at,
            ):
                raise IllegalMove(Reason.OPENED_MEANWHILE, ticket)
            self._send_back(session, ticket, at, "link_kedaluwarsa", NoticeKind.LINK_EXPIRED)
            self._audit(session, ticket, SYSTEM, "link_expired")
            return ticket_id

        return await self._sweep_tickets(due, expire)

    async def link_lost(self, link_hash: str) -> Ticket | None:
        """The store lost the link's ciphertext before anyone took it: back to step 6.

        The requester is told the link cannot be opened and a new one will come; the group
        is alerted. The link is marked by a conditional UPDATE (still unopened, unrevoked,
        unexpired), so of concurrent finders one moves the ticket; the others get None, as
        does a link that is not the ticket's current one (or one the requester opened just
        now).
        """
        ticket_id = await self._claim(self._lose_link, link_hash)
        return None if ticket_id is None else await self.get(ticket_id)

    async def _lose_link(self, session: AsyncSession, link_hash: str) -> int | None:
        link = await find_link(session, link_hash)
        if link is None:
            return None
        ticket = await self._load(session, link.ticket_id)
        latest = ticket.latest_link
        if ticket.state != S.DELIVERED or latest is None or latest.id != link.id:
            return None
        ticket, at = await self._move(session, ticket.id, ticket.version, Move.LOSE_LINK, SYSTEM)
        if not await mark_link(
            session,
            link.id,
            LINK.opened_at.is_(None),
            LINK.revoked_at.is_(None),
            LINK.expired_at.is_(None),
            LINK.lost_at.is_(None),
            lost_at=at,
        ):
            raise IllegalMove(Reason.OPENED_MEANWHILE, ticket)
        self._send_back(session, ticket, at, "link_hilang", NoticeKind.LINK_LOST)
        self._audit(session, ticket, SYSTEM, "link_lost", link=link_hash[:12])
        return ticket.id

    def _send_back(
        self, session: AsyncSession, ticket: Ticket, at: datetime, outcome: str, notice: NoticeKind
    ) -> None:
        """The link died unopened: step 6 again; the requester and the group are told."""
        self._link_died(session, ticket, SYSTEM, at, outcome)
        self._notify(session, ticket, "requester", notice)
        self._notify(session, ticket, "admins", notice)
        self._notify(session, ticket, "admins", NoticeKind.CARD)

    # ---- step 8's confirmation ---------------------------------------------------------------

    async def remind_unconfirmed(self, *, every: timedelta, at_most: int) -> list[Ticket]:
        """Remind requesters who opened the result but did not confirm the login; each
        reminder is claimed by one conditional UPDATE, so two workers never both send it."""
        now = self._now()
        waiting = (
            Ticket.state == S.RECEIVED,
            Ticket.confirmed_at.is_(None),
            Ticket.outcome.is_(None),
        )
        due = select(Ticket.id, Ticket.state_since, Ticket.confirm_reminders).where(
            *waiting, Ticket.confirm_reminders < at_most
        )

        async def remind(session: AsyncSession, row: Row[int, datetime, int]) -> int | None:
            ticket_id, since, sent = row
            if since + every * (sent + 1) > now:
                return None
            if not await mark_ticket(
                session,
                ticket_id,
                *waiting,
                Ticket.confirm_reminders == sent,
                confirm_reminders=sent + 1,
            ):
                return None
            ticket = await self._load(session, ticket_id)
            self._audit(session, ticket, SYSTEM, "confirm_reminder", number=sent + 1)
            self._notify(session, ticket, "requester", NoticeKind.CONFIRM_REMINDER)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            return ticket_id

        return await self._sweep_tickets(due, remind)

    async def close_unconfirmed(self, *, after: timedelta) -> list[Ticket]:
        """Opened long ago and never confirmed: the ticket goes to the archive anyway."""
        due = select(Ticket.id, Ticket.version).where(
            Ticket.state == S.RECEIVED,
            Ticket.outcome.is_(None),
            Ticket.state_since <= self._now() - after,
        )

        async def close(session: AsyncSession, row: Row[int, int]) -> int | None:
            ticket_id, version = row
            ticket, at = await self._move(
                session, ticket_id, version, Move.CLOSE_UNCONFIRMED, SYSTEM
            )
            ticket.outcome = Outcome.COMPLETED
            ticket.closed_at = at
            self._notify(session, ticket, "requester", NoticeKind.CLOSED_UNCONFIRMED)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            return ticket_id

        return await self._sweep_tickets(due, close)

    # ---- step 4 ------------------------------------------------------------------------------

    async def remind_supplements(self, *, after: timedelta) -> list[Ticket]:
        """Step 4 waits on the requester: one reminder once `after` has passed, claimed by a
        conditional UPDATE so two workers never both send it."""
        now = self._now()
        unreminded = (Ticket.state == S.INCOMPLETE, Ticket.supplement_reminded_at.is_(None))
        due = select(Ticket.id).where(*unreminded, Ticket.state_since <= now - after)

        async def remind(session: AsyncSession, row: Row[int]) -> int | None:
            (ticket_id,) = row
            if not await mark_ticket(session, ticket_id, *unreminded, supplement_reminded_at=now):
                return None
            ticket = await self._load(session, ticket_id)
            self._audit(session, ticket, SYSTEM, "supplement_reminder")
            self._notify(session, ticket, "requester", NoticeKind.SUPPLEMENT_REMINDER)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            return ticket_id

        return await self._sweep_tickets(due, remind)

    async def expire_supplements(self, *, after: timedelta) -> list[Ticket]:
        """Step 4 never came: the ticket closes as expired, the requester is told."""
        due = select(Ticket.id, Ticket.version).where(
            Ticket.state == S.INCOMPLETE, Ticket.state_since <= self._now() - after
        )

        async def expire(session: AsyncSession, row: Row[int, int]) -> int | None:
            ticket_id, version = row
            ticket, at = await self._move(session, ticket_id, version, Move.EXPIRE, SYSTEM)
            ticket.outcome = Outcome.EXPIRED
            ticket.closed_at = at
            self._finish(session, ticket, Step.SUPPLEMENT, None, at, "kedaluwarsa")
            self._notify(session, ticket, "requester", NoticeKind.EXPIRED)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            return ticket_id

        return await self._sweep_tickets(due, expire)
