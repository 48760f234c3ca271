"""The one-time links' own rows: looked up, counted (views, refused reveals) and claimed by
conditional UPDATEs, so concurrent page loads, reveals and sweeps each count or win once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import AuditEvent, CredentialLink, Ticket
from chatbot.services.tickets.machine import SYSTEM, S, TicketBase


async def find_link(session: AsyncSession, link_hash: str) -> CredentialLink | None:
    return (
        await session.execute(select(CredentialLink).where(CredentialLink.link_hash == link_hash))
    ).scalar_one_or_none()


async def ticket_of_link(session: AsyncSession, link_id: int) -> int:
    found = await session.execute(
        select(CredentialLink.ticket_id).where(CredentialLink.id == link_id)
    )
    return int(found.scalar_one())


async def mark_link(
    session: AsyncSession, link_id: int, *still: ColumnElement[bool], **values: Any
) -> bool:
    """Set `values` on the link only while the `still` conditions hold; True when this call
    did (of a reveal, a revoke, a recording and the sweeps, one wins)."""
    marked = await session.execute(
        update(CredentialLink)
        .where(CredentialLink.id == link_id, *still)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(marked.rowcount == 1)  # type: ignore[attr-defined]


class LinkCounters(TicketBase):
    async def link_status(self, link_hash: str) -> CredentialLink | None:
        async with self._sessions() as session:
            return await find_link(session, link_hash)

    async def unopened_links(self) -> list[str]:
        """The hashes of links sent and still waiting to be opened (unexpired)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(CredentialLink.link_hash)
                .join(Ticket, CredentialLink.ticket_id == Ticket.id)
                .where(
                    Ticket.state == S.DELIVERED,
                    CredentialLink.expires_at > self._now(),
                    CredentialLink.opened_at.is_(None),
                    CredentialLink.revoked_at.is_(None),
                    CredentialLink.expired_at.is_(None),
                    CredentialLink.lost_at.is_(None),
                )
            )
            return list(rows.scalars())

    async def link_viewed(self, link_hash: str) -> None:
        """The page was fetched (a person or a preview bot); the secret was not touched.

        Counted by atomic UPDATEs, so a storm of concurrent fetches counts every one and
        audits the first view exactly once.
        """
        async with self._sessions.begin() as session:
            link_id = await self._count(session, link_hash, CredentialLink.views)
            if link_id is None:
                return
            first = await mark_link(
                session,
                link_id,
                CredentialLink.first_viewed_at.is_(None),
                first_viewed_at=self._now(),
            )
            if first:
                ticket_id = await ticket_of_link(session, link_id)
                self._audit_ticket(session, ticket_id, "link_opened", link=link_hash[:12])

    async def reveal_refused(self, link_hash: str, reason: str) -> None:
        """Record a refused reveal on the link's ticket (unknown links are not recorded)."""
        async with self._sessions.begin() as session:
            link_id = await self._count(session, link_hash, CredentialLink.refusals)
            if link_id is None:
                return
            ticket_id = await ticket_of_link(session, link_id)
            self._audit_ticket(
                session, ticket_id, "reveal_refused", reason=reason, link=link_hash[:12]
            )

    @staticmethod
    async def _count(session: AsyncSession, link_hash: str, column: Any) -> int | None:
        """Add one to a link's counter in the database itself; the link's id, or None."""
        result = await session.execute(
            update(CredentialLink)
            .where(CredentialLink.link_hash == link_hash)
            .values({column: column + 1})
            .returning(CredentialLink.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none()

    @staticmethod
    def _audit_ticket(session: AsyncSession, ticket_id: int, action: str, **detail: Any) -> None:
        session.add(
            AuditEvent(
                ticket_id=ticket_id,
                actor_id=SYSTEM.id,
                actor_name=SYSTEM.name,
                action=action,
                detail=detail,
            )
        )
