"""Delivers the outbox: renders each queued notification and sends it through the channel."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
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
    Throttled,
    reply_from_dict,
)
from chatbot.conversations.payloads import (
    AdminAction,
    AdminPayload,
)
from chatbot.conversations.requester import confirmation_buttons, supplement_button
from chatbot.db.models import OutboxMessage, Ticket, utcnow
from chatbot.logs import log_context
from chatbot.metrics import record_sent
from chatbot.services.documents import ACCEPTED
from chatbot.services.enums import TicketState
from chatbot.services.outages import is_outage
from chatbot.services.outbox import Outbox
from chatbot.services.people import names_of
from chatbot.services.sealing import Sealer

log = logging.getLogger(__name__)

SENDER_LOCK = timedelta(minutes=2)

# Alerts to the admin group, each a reply to the ticket's card.
_ALERTS = ("incident", "link_expired", "link_lost", "link_unsent", "unreachable")

# Notices to the requester that carry the receipt's two answers.
_WITH_CONFIRMATION = ("received", "confirm_reminder")

# Notices to the requester that are text only.
# Time standards: a step past its standard, its escalation, the question why it was late.
_DEADLINES = ("step_overdue", "escalation", "late_reason")

_REQUESTER_TEXTS: dict[str, Callable[[Ticket], str]] = {
    "expired": lambda ticket: t.expired_notice(str(ticket.number)),
    "rejected": lambda ticket: t.rejected_notice(
        str(ticket.number), ticket.rejection_reason or "-"
    ),
    "link_expired": lambda ticket: t.link_expired_notice(str(ticket.number)),
    "link_revoked": lambda ticket: t.link_revoked_notice(str(ticket.number)),
    "link_lost": lambda ticket: t.link_lost_notice(str(ticket.number)),
    "closed_unconfirmed": lambda ticket: t.closed_unconfirmed(str(ticket.number)),
}


async def _durably(record: Callable[[], Awaitable[None]]) -> None:
    """Record what the platform already did, through a database outage: a message is out,
    and forgetting that would send it again. Gives up (and the row may repeat) only when
    the outage outlasts about two minutes or the process dies."""
    delays = [0.5 * 2**n for n in range(8)]  # about two minutes in all
    for delay in delays:
        try:
            await record()
            return
        except Exception as error:
            if not is_outage(error):
                raise
            log.warning(
                "recording a sent message waits for the database (%s)", type(error).__name__
            )
            await asyncio.sleep(delay)
    await record()


def _late_buttons(ticket_id: int, record_id: int) -> tuple[tuple[Button, ...], ...]:
    """The preset causes of a late step, one per row, then "other (type it)"."""

    def tap(choice: str) -> str:
        return AdminPayload(AdminAction.LATE, ticket_id, 0, f"{record_id}.{choice}").encode()

    presets = [(Button(label, tap(str(i))),) for i, label in enumerate(t.LATE_PRESETS)]
    return (*presets, (Button(t.LATE_OTHER, tap("x")),))


def reply_context(chat_id: str) -> str:
    """What a queued reply's seal is bound to: it opens only for its own chat."""
    return f"reply:{chat_id}"


class OutboxSender:
    """Delivers due rows, one sender at a time across workers, in order within each chat.

    A chat whose row fails, or is at its pace, is skipped for the rest of the round so its
    later rows never overtake; other chats go on. `messenger` should raise Throttled rather
    than wait (TelegramMessenger.deferring()).
    """

    def __init__(
        self,
        services: Services,
        outbox: Outbox,
        messenger: Messenger,
        sealer: Sealer | None = None,
    ) -> None:
        self._services = services
        self._outbox = outbox
        self._messenger = messenger
        self._sealer = sealer
        self._views = CardViews(services.store)
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._cards_covered: dict[int, int] = {}  # ticket id -> newest card row edited

    def kick(self) -> None:
        """Flush soon, in the background; calls while one runs fold into it."""
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="outbox-flush")

    async def idle(self) -> None:
        """Wait until no kicked flush is running (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            try:
                await self.flush()
            except Exception:  # an outage: the periodic flush tries again
                log.exception("outbox flush failed")
                return

    async def flush(self) -> int:
        """Send everything due; returns how many were sent."""
        sent = 0
        async with self._services.store.lock("outbox-sender", SENDER_LOCK):
            self._cards_covered.clear()
            while True:
                rows = await self._outbox.due(self._messenger.admin_chat_id)
                if not rows:
                    break
                skipped: set[str] = set()
                progressed = False
                for message in rows:
                    chat = self._chat_of(message)
                    if chat in skipped or self._covered(message):
                        continue
                    with log_context(outbox_id=message.id, kind=message.kind):
                        if await self._send_one(message):
                            sent += 1
                            progressed = True
                        else:
                            skipped.add(chat)
                if not progressed:
                    break
        return sent

    def _covered(self, message: OutboxMessage) -> bool:
        """A queued card edit already folded into an edit made this round."""
        return (
            message.kind == "card"
            and message.ticket_id is not None
            and message.id <= self._cards_covered.get(message.ticket_id, 0)
        )

    def _chat_of(self, message: OutboxMessage) -> str:
        if message.audience == "admins":
            return self._messenger.admin_chat_id
        return str(message.chat_id)

    async def _send_one(self, message: OutboxMessage) -> bool:
        """Deliver one row; False when it must wait (and its chat with it)."""
        try:
            await self._deliver(message)
        except Throttled as paced:
            await self._outbox.defer(message.id, paced.retry_after or 1.0)
            return False
        except DeliveryError as failed:
            log.warning("outbox %s (%s) not delivered: %s", message.id, message.kind, failed.reason)
            await self._outbox.retry_later(
                message.id,
                failed.reason,
                permanent=failed.permanent,
                retry_after=failed.retry_after,
            )
            if failed.blocked and message.audience == "requester" and message.ticket_id:
                await self._services.tickets.mark_unreachable(message.ticket_id, failed.reason)
            return False
        except Exception as error:
            if is_outage(error):
                raise  # the database or the store is away: nothing is wrong with the row
            log.exception("outbox %s (%s) failed", message.id, message.kind)
            await self._outbox.retry_later(message.id, type(error).__name__, permanent=True)
            return False
        record_sent(message.kind)
        return True

    async def _deliver(self, message: OutboxMessage) -> None:
        if message.kind == "reply":
            await self._deliver_reply(message)
            return
        ticket = await self._services.tickets.get(message.ticket_id or 0)
        admin_chat = self._messenger.admin_chat_id
        sent_id: str | None = None
        if message.kind == "new_ticket":
            if ticket.admin_message_id is None:
                first = message.payload.get("documents_message_id")
                if first is None:
                    first = await self._send_documents(ticket, int(message.payload["round"]), None)
                    progress = {**message.payload, "documents_message_id": first}
                    await _durably(lambda: self._outbox.note_progress(message.id, progress))
                card_id = await self._messenger.send(
                    admin_chat, await self._card(ticket), reply_to=first
                )
                sent_id = card_id
                await _durably(lambda: self._outbox.set_admin_message(ticket.id, card_id))
        elif message.kind == "supplement":
            round_ = int(message.payload["round"])
            if any(doc.round == round_ for doc in ticket.documents):  # not for identity only
                await self._send_documents(ticket, round_, ticket.admin_message_id)
        elif message.kind == "card":
            # Which queued edits this one covers is fixed before the ticket is read, so an
            # edit queued meanwhile is never marked done by a render that predates it.
            covered = max(message.id, await self._outbox.last_card_row(ticket.id))
            ticket = await self._services.tickets.get(ticket.id)
            card = await self._card(ticket)
            if ticket.admin_message_id:
                try:
                    await self._messenger.edit(admin_chat, ticket.admin_message_id, card)
                    sent_id = ticket.admin_message_id
                except MessageGone:  # deleted in the group: post it anew below
                    log.warning("card of ticket %s was deleted; sending a new one", ticket.id)
            if sent_id is None:
                new_id = await self._messenger.send(admin_chat, card)
                sent_id = new_id
                await _durably(lambda: self._outbox.set_admin_message(ticket.id, new_id))
            # Queued edits of one card collapse into the one just made.
            await _durably(lambda: self._outbox.mark_card_rows_sent(ticket.id, covered))
            self._cards_covered[ticket.id] = covered
        elif message.kind == "incomplete":
            reply = Reply(
                t.incomplete_notice(str(ticket.number), ticket.missing, ticket.incomplete_note),
                buttons=((supplement_button(ticket),),),
            )
            sent_id = await self._messenger.send(str(message.chat_id), reply)
        elif message.kind in _DEADLINES:
            sent_id = await self._send_deadline(message, ticket)
        elif message.kind == "supplement_reminder" and ticket.state != TicketState.INCOMPLETE:
            pass  # supplemented or closed while it waited: nothing to remind of
        elif message.kind == "supplement_reminder":
            expires = ticket.state_since + self._services.supplement_expire_after
            reply = Reply(
                t.supplement_reminder(
                    str(ticket.number), ticket.missing, t.clock(expires, self._services.zone)
                ),
                buttons=((supplement_button(ticket),),),
            )
            sent_id = await self._messenger.send(str(message.chat_id), reply)
        elif message.audience == "admins" and message.kind in _ALERTS:
            sent_id = await self._messenger.send(
                admin_chat, self._alert(message.kind, ticket), reply_to=ticket.admin_message_id
            )
        elif message.audience == "requester" and (
            message.kind in _REQUESTER_TEXTS or message.kind in _WITH_CONFIRMATION
        ):
            reply = self._requester_reply(message, ticket)
            sent_id = await self._messenger.send(str(message.chat_id), reply)
        else:
            log.error("outbox %s has unknown kind %s", message.id, message.kind)
            await self._outbox.retry_later(message.id, "unknown kind", permanent=True)
            return
        await _durably(lambda: self._outbox.mark_sent(message.id, sent_id))
        if message.audience == "requester" and ticket.requester_unreachable_at is not None:
            await self._services.tickets.mark_reachable(ticket.id)

    async def _deliver_reply(self, message: OutboxMessage) -> None:
        if self._sealer is None or message.sealed is None or message.chat_id is None:
            raise ValueError("a reply row without its sealed content")
        data = json.loads(self._sealer.open(message.sealed, reply_context(message.chat_id)))
        reply = reply_from_dict(data)
        if reply.edit_message_id:
            try:
                await self._messenger.edit(message.chat_id, reply.edit_message_id, reply)
                sent_id: str | None = reply.edit_message_id
            except MessageGone:  # the message to edit went away: nothing left to update
                sent_id = None
        else:
            sent_id = await self._messenger.send(message.chat_id, reply)
        await _durably(lambda: self._outbox.mark_sent(message.id, sent_id))

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

    async def _send_deadline(self, message: OutboxMessage, ticket: Ticket) -> str | None:
        """A step past its standard, its escalation, or the question why it was late."""
        record = next((r for r in ticket.steps if r.id == message.payload.get("record")), None)
        if record is None or record.standard_minutes is None:
            return None
        number, step = str(ticket.number), int(record.step)
        holder = names_of(ticket).of(record.actor_id, record.actor_name) or ticket.result_admin_name
        zone = self._services.zone
        if message.kind == "late_reason":
            actor_id = str(message.payload["actor_id"])
            user_id = actor_id.split(":", 1)[-1]
            question = t.ask_late_reason(
                user_id,
                str(message.payload["actor_name"]),
                number,
                step,
                int(message.payload["minutes"]),
                record.standard_minutes,
            )
            buttons = _late_buttons(ticket.id, record.id)
            return await self._messenger.send(
                self._messenger.admin_chat_id,
                Reply(question, buttons=buttons),
                reply_to=ticket.admin_message_id,
            )
        if record.finished_at is not None or not ticket.state.is_open:
            return None  # finished after the sweep queued it: nothing to remind of
        if message.kind == "step_overdue":
            text = t.step_overdue(
                number, step, record.standard_minutes, t.clock(record.started_at, zone), holder
            )
            return await self._messenger.send(
                self._messenger.admin_chat_id, Reply(text), reply_to=ticket.admin_message_id
            )
        used = self._services.tickets.policy.used(record.started_at, utcnow())
        text = t.escalation(number, step, record.standard_minutes, t.duration(used), holder)
        if message.audience == "supervisor" and message.chat_id:
            return await self._messenger.send(str(message.chat_id), Reply(text))
        return await self._messenger.send(
            self._messenger.admin_chat_id, Reply(text), reply_to=ticket.admin_message_id
        )

    def _alert(self, kind: str, ticket: Ticket) -> Reply:
        number = str(ticket.number)
        if kind == "link_expired":
            return Reply(t.link_expired_alert(number))
        if kind == "link_lost":
            return Reply(t.link_lost_alert(number))
        if kind == "link_unsent":
            return Reply(t.link_unsent_alert(number))
        if kind == "unreachable":
            return Reply(t.unreachable_alert(number))
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
                name=(
                    f"{ticket.number}-{doc.kind}"
                    + (f"-perbaikan{doc.round}" if doc.round > 1 else "")
                    + f"-{doc.page}.{ACCEPTED.get(doc.mime, 'bin')}"
                ),
                caption=t.document_caption(str(ticket.number), doc.kind, doc.page, doc.round)
                + (f" · {t.ENCRYPTED_PDF}" if doc.encrypted else ""),
            )
            for doc in documents
        ]
        ids = await self._messenger.send_files(self._messenger.admin_chat_id, files, reply_to)
        return ids[0]
