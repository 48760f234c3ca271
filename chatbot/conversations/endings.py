"""What happens when a ticket ends: its archive (step 9), retried by the sweep if it fails."""

from __future__ import annotations

import logging
from datetime import timedelta

from chatbot.conversations.context import Services
from chatbot.services.tickets import TicketError

log = logging.getLogger(__name__)

# A link is written down just before it is sent and recorded a moment later; one still
# unrecorded after this long was cut off by a crash (sending waits at most about a minute).
UNSENT_LINK_AFTER = timedelta(minutes=2)


async def archive_quietly(services: Services, ticket_id: int) -> None:
    """Archive now; on failure log it and leave it to the sweep, never fail the user's action."""
    try:
        await services.archiver.archive(ticket_id)
    except (OSError, TicketError):
        log.exception("archiving ticket id %s failed; the sweep will retry", ticket_id)


async def sweep_unarchived(services: Services) -> int:
    """Archive every ended ticket that has no archive yet (after a crash, say)."""
    ids = await services.tickets.unarchived_ended()
    for ticket_id in ids:
        await archive_quietly(services, ticket_id)
    return len(ids)


async def sweep_handovers(
    services: Services, *, remind_every: timedelta, max_reminders: int, close_after: timedelta
) -> None:
    """Step 8's deadlines: links that expired unopened go back for a re-issue; requesters who
    opened the result but did not confirm the login are reminded, then the ticket closes."""
    tickets = services.tickets
    # Each part on its own: a failure in one must not hold up the others.
    try:
        for hashed in await tickets.abandon_unsent_links(older_than=UNSENT_LINK_AFTER):
            await services.vault.withdraw(hashed)
    except Exception:
        log.exception("giving up unrecorded one-time links failed; the next sweep retries")
    try:
        await tickets.expire_links()
    except Exception:
        log.exception("expiring one-time links failed; the next sweep retries")
    try:
        await report_lost_links(services)
    except Exception:
        log.exception("looking for lost one-time links failed; the next sweep retries")
    try:
        await tickets.remind_unconfirmed(every=remind_every, at_most=max_reminders)
    except Exception:
        log.exception("confirmation reminders failed; the next sweep retries")
    for ticket in await tickets.close_unconfirmed(after=close_after):
        await archive_quietly(services, ticket.id)


async def report_lost_links(services: Services) -> int:
    """Links still waiting to be opened whose ciphertext the store no longer holds (Redis
    restarted without its data): each goes back to step 6, its requester and the group told,
    without waiting for the requester to find out."""
    lost = 0
    for hashed in await services.tickets.unopened_links():
        if await services.vault.lost(hashed) and await services.tickets.link_lost(hashed):
            log.warning("a one-time link's ciphertext was lost from the store")
            lost += 1
    return lost


async def sweep_supplements(
    services: Services, *, remind_after: timedelta, expire_after: timedelta
) -> None:
    """Step 4 waits on the requester: a reminder, then the ticket closes as expired."""
    tickets = services.tickets
    # Expiry first: a ticket due for both (after a long outage) is closed, not reminded.
    try:
        for ticket in await tickets.expire_supplements(after=expire_after):
            await archive_quietly(services, ticket.id)
    except Exception:
        log.exception("expiring unsupplemented tickets failed; the next sweep retries")
    try:
        await tickets.remind_supplements(after=remind_after)
    except Exception:
        log.exception("supplement reminders failed; the next sweep retries")
