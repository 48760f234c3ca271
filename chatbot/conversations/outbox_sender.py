"""Delivers the outbox: renders each queued notification and sends it through the channel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from chatbot.conversations import texts as t
from chatbot.conversations.cards import CardViews, render
from chatbot.conversations.context import Services
from chatbot.conversations.messages import (
    Button,
    DeliveryError,
    MessageGone,
    Messenger,
    OutgoingFile,
    Reply,
)
from chatbot.conversations.payloads import RequesterAction, RequesterPayload
from chatbot.conversations.requester import confirmation_buttons
from chatbot.db.models import OutboxMessage, Ticket
from chatbot.services.documents import ACCEPTED
from chatbot.services.outbox import Outbox

log = logging.getLogger(__name__)

# Notices to the requester that carry the receipt's two answers.
_WITH_CONFIRMATION = ("received", "confirm_reminder")

# Notices to the requester that are text only.
_REQUESTER_TEXTS: dict[str, Callable[[Ticket], str]] = {
    "rejected": lambda ticket: t.rejected_notice(
        str(ticket.number), ticket.rejection_reason or "-"
    ),
    "link_expired": lambda ticket: t.link_expired_notice(str(ticket.number)),
    "link_revoked": lambda ticket: t.link_revoked_notice(str(ticket.number)),
    "closed_unconfirmed": lambda ticket: t.closed_unconfirmed(str(ticket.number)),
}


class OutboxSender:
    def __init__(self, services: Services, outbox: Outbox, messenger: Messenger) -> None:
        self._services = services
        self._outbox = outbox
        self._messenger = messenger
        self._views = CardViews(services.store)

    async def flush(self) -> int:
        """Send everything due, in order; one sender at a time. Returns how many were sent."""
        sent = 0
        async with self._services.store.lock("outbox-sender", timedelta(minutes=2)):
            for message in await self._outbox.due():
                try:
                    await self._deliver(message)
                except DeliveryError as failed:
                    log.warning(
                        "outbox %s (%s) not delivered: %s", message.id, message.kind, failed.reason
                    )
                    await self._outbox.retry_later(
                        message.id,
                        failed.reason,
                        permanent=failed.permanent,
                        retry_after=failed.retry_after,
                    )
                    if message.audience == "admins":
                        break  # keep the group's messages in order
                    continue
                except Exception as error:  # a bug in one row must not block the queue
                    log.exception("outbox %s (%s) failed", message.id, message.kind)
                    await self._outbox.retry_later(message.id, type(error).__name__, permanent=True)
                    continue
                sent += 1
        return sent

    async def _deliver(self, message: OutboxMessage) -> None:
        ticket = await self._services.tickets.get(message.ticket_id or 0)
        admin_chat = self._messenger.admin_chat_id
        if message.kind == "new_ticket":
            if ticket.admin_message_id is None:
                first = await self._send_documents(ticket, int(message.payload["round"]), None)
                card_id = await self._messenger.send(
                    admin_chat, await self._card(ticket), reply_to=first
                )
                await self._outbox.set_admin_message(ticket.id, card_id)
            await self._outbox.mark_sent(message.id)
        elif message.kind == "supplement":
            round_ = int(message.payload["round"])
            if any(doc.round == round_ for doc in ticket.documents):  # not for identity only
                await self._send_documents(ticket, round_, ticket.admin_message_id)
            await self._outbox.mark_sent(message.id)
        elif message.kind == "card":
            card = await self._card(ticket)
            edited = False
            if ticket.admin_message_id:
                try:
                    await self._messenger.edit(admin_chat, ticket.admin_message_id, card)
                    edited = True
                except MessageGone:  # deleted in the group: post it anew below
                    log.warning("card of ticket %s was deleted; sending a new one", ticket.id)
            if not edited:
                card_id = await self._messenger.send(admin_chat, card)
                await self._outbox.set_admin_message(ticket.id, card_id)
            await self._outbox.mark_card_rows_sent(ticket.id, message.id)
        elif message.kind == "incomplete":
            supplement = RequesterPayload(RequesterAction.SUPPLEMENT, ticket.id).encode()
            reply = Reply(
                t.incomplete_notice(str(ticket.number), ticket.missing, ticket.incomplete_note),
                buttons=((Button(t.SUPPLEMENT_BUTTON, supplement),),),
            )
            await self._messenger.send(str(message.chat_id), reply)
            await self._outbox.mark_sent(message.id)
        elif message.audience == "admins" and message.kind in ("incident", "link_expired"):
            await self._messenger.send(
                admin_chat, self._alert(message.kind, ticket), reply_to=ticket.admin_message_id
            )
            await self._outbox.mark_sent(message.id)
        elif message.audience == "requester" and (
            message.kind in _REQUESTER_TEXTS or message.kind in _WITH_CONFIRMATION
        ):
            await self._messenger.send(str(message.chat_id), self._requester_reply(message, ticket))
            await self._outbox.mark_sent(message.id)
        else:
            log.error("outbox %s has unknown kind %s", message.id, message.kind)
            await self._outbox.retry_later(message.id, "unknown kind", permanent=True)

    def _requester_reply(self, message: OutboxMessage, ticket: Ticket) -> Reply:
        number = str(ticket.number)
        if message.kind in _REQUESTER_TEXTS:
            return Reply(_REQUESTER_TEXTS[message.kind](ticket))
        password = ticket.request_type.needs_password
        if message.kind == "received":
            link = ticket.latest_link
            opened = link.opened_at if link and link.opened_at else ticket.state_since
            text = t.received_receipt(number, t.clock(opened, self._services.zone), password)
        else:
            text = t.confirm_reminder(number, password)
        return Reply(text, buttons=confirmation_buttons(ticket))

    def _alert(self, kind: str, ticket: Ticket) -> Reply:
        number = str(ticket.number)
        if kind == "link_expired":
            return Reply(t.link_expired_alert(number))
        link = next((x for x in reversed(ticket.links) if x.opened_at is not None), None)
        opened = t.clock(link.opened_at, self._services.zone) if link and link.opened_at else None
        return Reply(t.incident_alert(number, opened, None))

    async def _card(self, ticket: Ticket) -> Reply:
        return render(ticket, self._services.zone, await self._views.get(ticket.id))

    async def _send_documents(self, ticket: Ticket, round_: int, reply_to: str | None) -> str:
        documents = [d for d in ticket.documents if d.round == round_]
        files = [
            OutgoingFile(
                path=str(self._services.files.absolute(doc.stored_path)),
                name=f"{ticket.number}-{doc.kind}-{doc.page}.{ACCEPTED.get(doc.mime, 'bin')}",
                caption=f"{ticket.number} · {t.DOCUMENT_SHORT[doc.kind]} hal. {doc.page}",
            )
            for doc in documents
        ]
        ids = await self._messenger.send_files(self._messenger.admin_chat_id, files, reply_to)
        return ids[0]
