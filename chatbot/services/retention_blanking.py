"""The database side of a retention purge: one ticket's personal data blanked, in the
caller's transaction (the files are deleted before, so a crash leaves the ticket due)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import AuditEvent, Requester, StepRecord, Ticket
from chatbot.services.retention_manifest import REQUESTER_LABEL, requester_actor_ids

REMOVED = "(dihapus)"
REQUESTER_ACTOR = "requester"


async def blank_personal_data(
    session: AsyncSession,
    ticket_id: int,
    now: datetime,
    *,
    files: int,
    size: int,
    retention: timedelta,
) -> bool:
    """Claim the ticket as purged at `now` and blank its personal data (and the requester's,
    once none of their tickets is left unpurged); audit "purged". False when another run
    purged it meanwhile."""
    claimed = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.purged_at.is_(None))
        .values(purged_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False  # another run purged it meanwhile
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    assert ticket is not None
    requester_ids = requester_actor_ids(ticket)
    _blank_ticket(ticket)
    for model in (StepRecord, AuditEvent):
        await session.execute(
            update(model)
            .where(model.ticket_id == ticket_id, model.actor_id.in_(requester_ids))
            .values(actor_id=REQUESTER_ACTOR, actor_name=REQUESTER_LABEL)
            .execution_options(synchronize_session=False)
        )
    requester = ticket.requester
    unpurged = await session.scalar(
        select(Ticket.id)
        .where(
            Ticket.requester_id == requester.id,
            Ticket.id != ticket_id,
            Ticket.purged_at.is_(None),
        )
        .limit(1)
    )
    requester_blanked = unpurged is None
    if requester_blanked:
        _blank_requester(requester)
    session.add(
        AuditEvent(
            ticket_id=ticket_id,
            actor_id="system",
            actor_name="Sistem",
            action="purged",
            detail={
                "files": files,
                "bytes": size,
                "retention_days": retention.days,
                "requester_blanked": requester_blanked,
            },
        )
    )
    return True


def _blank_ticket(ticket: Ticket) -> None:
    """The ticket's copy of the identity, the identity changes, the documents' names."""
    names = {ticket.full_name, ticket.requester.full_name}
    ticket.full_name = REMOVED
    ticket.nip = ""
    ticket.email = ""
    ticket.phone = None
    ticket.phone_verified = False
    ticket.spse_user_id = None
    ticket.identity_changes = []  # old and new names, NIPs, e-mails
    if ticket.last_actor_name in names:
        ticket.last_actor_name = REQUESTER_LABEL
    for doc in ticket.documents:
        doc.stored_path = ""
        doc.original_name = None
        doc.platform_file_id = None


def _blank_requester(requester: Requester) -> None:
    """The requester row; its chat id replaced, so a returning person starts afresh."""
    requester.full_name = REMOVED
    requester.nip = ""
    requester.email = ""
    requester.phone = None
    requester.phone_verified = False
    requester.spse_user_id = None
    requester.chat_id = f"dihapus:{requester.id}"
    requester.platform_user_id = ""
