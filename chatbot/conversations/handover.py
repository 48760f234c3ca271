"""The hand-over of a result (SOP steps 6 to 8), shared by the admin's web form and the chat.

Seal the secret into a one-time link, write the link down (pending), send it to the
requester, record the hand-over. The link's URL carries the key, so it is sent directly,
never through the outbox (whose rows rest in the database). If sending or recording fails,
the link is marked dead and its ciphertext deleted; if the process dies in between, the
pending row is what the sweep (`abandon_unsent_links`) finds, so no live link exists that
the ticket does not know of, and nobody is left waiting on a link that answers 404.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chatbot.conversations import texts as t
from chatbot.conversations.context import Services
from chatbot.conversations.messages import Button, DeliveryError, Reply
from chatbot.conversations.messengers import Messengers
from chatbot.db.models import Ticket
from chatbot.services.credentials import IssuedLink
from chatbot.services.enums import TicketState
from chatbot.services.tickets import Actor, LinkAbandoned, NotYours, StaleMove, TicketError

log = logging.getLogger(__name__)


def link_message(number: str, url: str, expires: str, *, web_app: bool) -> Reply:
    """The requester's message with the one-time link: on a Web App button, or in the text."""
    if web_app:
        return Reply(
            t.result_link_short(number, expires),
            buttons=((Button(t.OPEN_RESULT, url=url, web_app=True),),),
            protect=True,
        )
    return Reply(t.result_link(number, url, expires), protect=True)


@dataclass(frozen=True)
class Handed:
    """How a hand-over went: `text` is for the admin; `retry` says the input may be sent again."""

    ok: bool
    text: str
    retry: bool = False


class Handover:
    def __init__(self, services: Services, messengers: Messengers, *, web_app: bool) -> None:
        self._services = services
        self._messengers = messengers
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
        self,
        *,
        ticket_id: int,
        version: int,
        actor: Actor,
        secret: dict[str, str],
        password_deleted: bool = False,
    ) -> Handed:
        """Hand the result over; `password_deleted`: the admin's typed password was deleted."""
        services = self._services
        ticket = await services.tickets.get(ticket_id)
        refused = self.still_theirs(ticket, version, actor)
        if refused is not None:
            return Handed(False, refused)
        link = await services.vault.issue(ticket_number=str(ticket.number), secret=secret)
        expires = t.day_clock(link.expires_at, services.zone)
        number = str(ticket.number)
        failed = await self._write_down(ticket, version, actor, link)
        if failed is not None:
            return failed
        sent = await self._send_link(ticket, link, expires)
        if isinstance(sent, Handed):
            return sent
        failed = await self._record(ticket, version, actor, link, sent)
        if failed is not None:
            return failed
        log.info("ticket %s: result handed over by %s; link expires %s", number, actor.id, expires)
        return Handed(True, t.result_sent(number, expires, password_deleted=password_deleted))

    async def _write_down(
        self, ticket: Ticket, version: int, actor: Actor, link: IssuedLink
    ) -> Handed | None:
        """Record the link as pending before it leaves; on failure its ciphertext goes."""
        services = self._services
        try:
            await services.tickets.record_pending_link(
                ticket_id=ticket.id,
                version=version,
                actor=actor,
                link_hash=link.link_hash,
                expires_at=link.expires_at,
            )
        except TicketError as moved:
            await services.vault.revoke(link.link_id)
            why = moved.ticket and self.still_theirs(moved.ticket, version, actor)
            return Handed(False, why or f"⚠️ {t.e(t.ticket_error(moved))}")
        except Exception:
            log.exception("writing down the link of ticket %s failed", ticket.number)
            await services.vault.revoke(link.link_id)
            return Handed(False, t.result_failed("gangguan penyimpanan data"), retry=True)
        return None

    async def _send_link(self, ticket: Ticket, link: IssuedLink, expires: str) -> Handed | str:
        """Send the link to the requester: a Web App button (WEBAPP_BINDING, for Telegram
        requesters only), or the URL in the text (which WhatsApp shows as a CTA button).
        The message's id, or how it failed."""
        number = str(ticket.number)
        web_app = self._web_app and ticket.requester.channel == "telegram"
        message = link_message(number, link.url, expires, web_app=web_app)
        try:
            requester = ticket.requester
            return await self._messengers.of(requester.channel).send(requester.chat_id, message)
        except DeliveryError as failed:
            await self._abandon(link, number)
            if failed.kind == "window":  # WhatsApp: the window closed during the hand-over
                return Handed(False, t.result_window_closed(number))
            return Handed(False, t.result_failed(failed.reason), retry=not failed.permanent)

    async def _record(
        self, ticket: Ticket, version: int, actor: Actor, link: IssuedLink, message_id: str
    ) -> Handed | None:
        """Record the hand-over; a link the requester holds but we could not record dies."""
        number = str(ticket.number)
        try:
            await self._services.tickets.deliver_result(
                ticket_id=ticket.id,
                version=version,
                actor=actor,
                link_hash=link.link_hash,
                expires_at=link.expires_at,
                message_id=message_id or None,
            )
        except LinkAbandoned:
            await self._abandon(link, number)
            return Handed(
                False,
                t.result_failed("pencatatan link terlambat, link itu sudah dimatikan"),
                retry=True,
            )
        except (StaleMove, NotYours) as moved:
            await self._abandon(link, number)
            return Handed(False, f"⚠️ {t.e(t.ticket_error(moved))}")
        except Exception:
            # The requester holds a link we could not record: make it dead, let the admin retry.
            log.exception("recording the hand-over of ticket %s failed", number)
            await self._abandon(link, number)
            return Handed(False, t.result_failed("gangguan penyimpanan data"), retry=True)
        return None

    async def _abandon(self, link: IssuedLink, number: str) -> None:
        """Kill a link that was written down but not handed over; the database first (it has
        the last word on a reveal), then the ciphertext. If the database is down too, the
        sweep finishes it."""
        try:
            await self._services.tickets.abandon_link(link.link_hash)
        except Exception:
            log.exception("marking an unsent link of ticket %s dead failed", number)
        await self._services.vault.revoke(link.link_id)
