"""The hand-over of a result (SOP steps 6 to 8), shared by the admin's web form and the chat.

Seal the secret into a one-time link, send the link to the requester, record it. The link's
URL carries the key, so it is sent directly, never through the outbox (whose rows rest in the
database); if sending or recording fails, the ciphertext is deleted so no live link exists
that the ticket does not know of.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chatbot.conversations import texts as t
from chatbot.conversations.context import Services
from chatbot.conversations.messages import Button, DeliveryError, Messenger, Reply
from chatbot.db.models import Ticket
from chatbot.services.enums import TicketState
from chatbot.services.tickets import Actor, NotYours, StaleMove

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handed:
    """How a hand-over went: `text` is for the admin; `retry` says the input may be sent again."""

    ok: bool
    text: str
    retry: bool = False


class Handover:
    def __init__(self, services: Services, messenger: Messenger, *, web_app: bool) -> None:
        self._services = services
        self._messenger = messenger
        self._web_app = web_app

    def still_theirs(self, ticket: Ticket, version: int, actor: Actor) -> str | None:
        """Why this admin can no longer hand this ticket's result over, or None."""
        if (
            ticket.state == TicketState.VALID
            and ticket.version == version
            and ticket.result_admin_id == actor.id
        ):
            return None
        who = ticket.result_admin_name if ticket.state == TicketState.VALID else None
        by = who or ticket.last_actor_name
        return t.stale(str(ticket.number), ticket.state, by, ticket.outcome)

    async def deliver(
        self, *, ticket_id: int, version: int, actor: Actor, secret: dict[str, str]
    ) -> Handed:
        services = self._services
        ticket = await services.tickets.get(ticket_id)
        refused = self.still_theirs(ticket, version, actor)
        if refused is not None:
            return Handed(False, refused)
        link = await services.vault.issue(ticket_number=str(ticket.number), secret=secret)
        expires = t.day_clock(link.expires_at, services.zone)
        number = str(ticket.number)
        if self._web_app:
            message = Reply(
                t.result_link_short(number, expires),
                buttons=((Button(t.OPEN_RESULT, url=link.url, web_app=True),),),
                protect=True,
            )
        else:
            message = Reply(t.result_link(number, link.url, expires), protect=True)
        try:
            await self._messenger.send(ticket.requester.chat_id, message)
        except DeliveryError as failed:
            await services.vault.revoke(link.link_id)
            return Handed(False, t.result_failed(failed.reason), retry=not failed.permanent)
        try:
            await services.tickets.deliver_result(
                ticket_id=ticket.id,
                version=version,
                actor=actor,
                link_hash=link.link_hash,
                expires_at=link.expires_at,
            )
        except (StaleMove, NotYours) as moved:
            await services.vault.revoke(link.link_id)
            return Handed(False, f"⚠️ {t.e(moved)}")
        except Exception:
            # The requester holds a link we could not record: make it dead, let the admin retry.
            log.exception("recording the hand-over of ticket %s failed", number)
            await services.vault.revoke(link.link_id)
            return Handed(False, t.result_failed("gangguan penyimpanan data"), retry=True)
        log.info("ticket %s: result handed over by %s; link expires %s", number, actor.id, expires)
        return Handed(True, t.result_sent(number, expires))
