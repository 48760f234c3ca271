"""Delivers the outbox: each row rendered by its kind's renderer (conversations/notices.py),
sent through its chat's messenger, and recorded so a retry never repeats a finished part.

A row for the admins goes through the admin channel's messenger; any other row through the
messenger of the channel it was queued for (the requester's), so a requester on one channel
receives what an admin did on another.

A channel with a reply window (a `WindowedMessenger`: WhatsApp's 24 hours) gets a row to a
person whose window is closed, or refused as such, as its notice's template; with no
template configured the row is held (not failed) until the person writes again, and the
admins are told once through the "unreachable" path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from chatbot.conversations import texts as t
from chatbot.conversations.cards import CardViews
from chatbot.conversations.cards import render as render_card
from chatbot.conversations.context import Services
from chatbot.conversations.messages import (
    DeliveryError,
    MessageGone,
    Messenger,
    OutgoingFile,
    Reply,
    TemplateNotice,
    Throttled,
    WindowedMessenger,
    reply_from_dict,
)
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.notices import (
    Card,
    Documents,
    FirstCard,
    NoticeContext,
    Send,
    UnknownNotice,
    render,
)
from chatbot.db.models import OutboxMessage, Ticket, utcnow
from chatbot.logs import log_context
from chatbot.metrics import record_sent
from chatbot.pipeline.handling import reply_context
from chatbot.services.documents import ACCEPTED
from chatbot.services.notices import NoticeKind
from chatbot.services.outages import is_outage
from chatbot.services.outbox import Outbox
from chatbot.services.reply_window import AS_TEMPLATE
from chatbot.services.sealing import Sealer, Unreadable, WaitForKey, patient

log = logging.getLogger(__name__)

SENDER_LOCK = timedelta(minutes=2)


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


def _button_data(reply: Reply) -> tuple[str, ...]:
    """The data of a notice's tap buttons in order: its template's quick replies carry them,
    so a tap on the template acts as one on the rich message (URL buttons have none)."""
    return tuple(button.data for row in reply.buttons for button in row if button.data)


class OutboxSender:
    """Delivers due rows, one sender at a time across workers, in order within each chat.

    A chat whose row fails, or is at its pace, is skipped for the rest of the round so its
    later rows never overtake; other chats go on. The messengers should raise Throttled
    rather than wait (TelegramMessenger.deferring()).
    """

    def __init__(
        self,
        services: Services,
        outbox: Outbox,
        messengers: Messengers,
        sealer: Sealer | None = None,
    ) -> None:
        self._services = services
        self._outbox = outbox
        self._messengers = messengers
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
                rows = await self._outbox.due(
                    self._messengers.admin_chat_id, self._messengers.admin_channel
                )
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
            message.kind == NoticeKind.CARD
            and message.ticket_id is not None
            and message.id <= self._cards_covered.get(message.ticket_id, 0)
        )

    def _chat_of(self, message: OutboxMessage) -> str:
        """The lane a row waits in: a chat on a channel."""
        channel = message.channel or self._messengers.admin_channel
        if message.audience == "admins":
            return f"{channel}:{message.chat_id or self._admin_chat}"
        return f"{channel}:{message.chat_id}"

    @property
    def _admin_chat(self) -> str:
        return self._messengers.admin_chat_id

    @property
    def _admins(self) -> Messenger:
        return self._messengers.admins

    def _messenger_of(self, message: OutboxMessage) -> Messenger:
        """The admins' messenger for their rows, else the one of the row's channel."""
        if message.audience == "admins" or message.channel is None:
            return self._admins
        return self._messengers.of(message.channel)

    async def _send_one(self, message: OutboxMessage) -> bool:
        """Deliver one row; False when it must wait (and its chat with it)."""
        try:
            await self._deliver(message)
        except Throttled as paced:
            await self._outbox.defer(message.id, paced.retry_after or 1.0)
            return False
        except DeliveryError as failed:
            if failed.kind == "no_template":
                await self._hold(message, failed.reason)
                return False
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
        """Render the row (what to send, to whom), deliver it, and record what went out."""
        ticket = None
        if message.ticket_id is not None:
            ticket = await self._services.tickets.get(message.ticket_id)
        context = NoticeContext(message, self._services, ticket, self._opened_reply(message))
        try:
            notice = render(context)
        except UnknownNotice as unknown:
            log.error("outbox %s: %s", message.id, unknown)
            await self._outbox.retry_later(message.id, "unknown kind", permanent=True)
            return
        sent_id: str | None = None
        if isinstance(notice, Send):
            sent_id = await self._send_notice(message, ticket, notice)
        elif isinstance(notice, Card):
            sent_id = await self._edit_card(message.id, context.ticket)
        elif isinstance(notice, FirstCard):
            sent_id = await self._first_card(message, context.ticket, notice.round)
        elif isinstance(notice, Documents):
            await self._send_documents(context.ticket, notice.round, notice.reply_to)
        await _durably(lambda: self._outbox.mark_sent(message.id, sent_id))
        if (
            message.audience == "requester"
            and ticket is not None
            and ticket.requester_unreachable_at is not None
        ):
            await self._services.tickets.mark_reachable(ticket.id)

    def _opened_reply(self, message: OutboxMessage) -> Reply | None:
        """A queued reply's content; it opens only for its own chat."""
        if self._sealer is None or message.sealed is None or message.chat_id is None:
            return None
        try:
            plain = self._sealer.open(message.sealed, reply_context(message.chat_id))
        except Unreadable as error:
            # A worker with another key sealed it (a rolling upgrade): wait a while for one
            # that holds that key, then give it up.
            waits = isinstance(patient(error, message.created_at, utcnow()), WaitForKey)
            raise DeliveryError(
                "sealed under another key", permanent=not waits, kind="unreadable"
            ) from error
        return reply_from_dict(json.loads(plain))

    async def _hold(self, message: OutboxMessage, reason: str) -> None:
        """No template can carry the row through a closed window: it waits for the person
        to write again; the card and the admins hear of it once."""
        log.warning("outbox %s (%s) held: %s", message.id, message.kind, reason)
        if await self._outbox.hold(message.id, reason) and message.ticket_id is not None:
            await self._services.tickets.mark_unreachable(message.ticket_id, reason, held=True)

    async def _send_notice(
        self, message: OutboxMessage, ticket: Ticket | None, notice: Send
    ) -> str | None:
        """Send a rendered notice; to a person whose reply window is closed (known, or the
        platform's refusal), its template instead."""
        messenger = self._messenger_of(message)
        chat, channel = notice.chat, message.channel
        if (
            not isinstance(messenger, WindowedMessenger)
            or message.audience == "admins"
            or chat is None
            or channel is None
        ):
            return await self._send(messenger, notice)
        template = TemplateNotice(
            message.kind,
            ticket.number if ticket is not None else None,
            quick_replies=_button_data(notice.reply),
        )
        last = await self._outbox.last_inbound(channel, chat)
        closed = last is not None and utcnow() - last >= messenger.window
        if closed or message.payload.get(AS_TEMPLATE):
            return await messenger.send_template(chat, template)
        try:
            return await self._send(messenger, notice)
        except DeliveryError as refused:
            if refused.kind != "window":
                raise
            return await messenger.send_template(chat, template)

    async def _send(self, messenger: Messenger, notice: Send) -> str | None:
        chat = self._admin_chat if notice.chat is None else notice.chat
        if notice.edit:
            try:
                await messenger.edit(chat, notice.edit, notice.reply)
            except MessageGone:  # the message to edit went away: nothing left to update
                return None
            return notice.edit
        return await messenger.send(chat, notice.reply, reply_to=notice.reply_to)

    async def _first_card(self, message: OutboxMessage, ticket: Ticket, round_: int) -> str:
        """The documents (once, even across retries), then the card as their reply."""
        first = message.payload.get("documents_message_id")
        if first is None:
            first = await self._send_documents(ticket, round_, None)
            progress = {**message.payload, "documents_message_id": first}
            await _durably(lambda: self._outbox.note_progress(message.id, progress))
        card_id = await self._admins.send(
            self._admin_chat, await self._card(ticket), reply_to=first
        )
        await _durably(lambda: self._outbox.set_admin_message(ticket.id, card_id))
        return card_id

    async def _edit_card(self, row_id: int, ticket: Ticket) -> str:
        """Edit the card in place, or post it anew when it was deleted in the group."""
        admin_chat = self._admin_chat
        # Which queued edits this one covers is fixed before the ticket is read, so an
        # edit queued meanwhile is never marked done by a render that predates it.
        covered = max(row_id, await self._outbox.last_card_row(ticket.id))
        ticket = await self._services.tickets.get(ticket.id)
        card = await self._card(ticket)
        sent_id: str | None = None
        if ticket.admin_message_id:
            try:
                await self._admins.edit(admin_chat, ticket.admin_message_id, card)
                sent_id = ticket.admin_message_id
            except MessageGone:  # deleted in the group: post it anew below
                log.warning("card of ticket %s was deleted; sending a new one", ticket.id)
        if sent_id is None:
            new_id = await self._admins.send(admin_chat, card)
            sent_id = new_id
            await _durably(lambda: self._outbox.set_admin_message(ticket.id, new_id))
        # Queued edits of one card collapse into the one just made.
        await _durably(lambda: self._outbox.mark_card_rows_sent(ticket.id, covered))
        self._cards_covered[ticket.id] = covered
        return sent_id

    async def _card(self, ticket: Ticket) -> Reply:
        return render_card(ticket, self._services.zone, await self._views.get(ticket.id))

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
        ids = await self._admins.send_files(self._admin_chat, files, reply_to)
        return ids[0]
