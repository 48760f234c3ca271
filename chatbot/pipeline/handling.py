"""Handling one stored update: open it, let its channel's adapter say what it means, route
it, and commit its replies together with the mark that it was handled."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations import texts as t
from chatbot.conversations.messages import Reply, Response, reply_to_dict
from chatbot.conversations.messengers import Messengers, UnknownChannel
from chatbot.conversations.router import Router
from chatbot.db.models import utcnow
from chatbot.logs import bind_ticket, log_context
from chatbot.metrics import record_update
from chatbot.pipeline.ingress import update_context
from chatbot.pipeline.ports import ChannelAdapter, Interpreted, MergesReplies
from chatbot.services.inbox import Inbox, Pending
from chatbot.services.outbox import Outbox
from chatbot.services.reply_window import Recorded, inbound, note_inbound, record_receipt
from chatbot.services.sealing import Sealer, Unreadable, patient

log = logging.getLogger(__name__)

TICKET_NUMBER = re.compile(r"\b(\d{4}-\d{4,})\b")


def reply_context(chat_id: str) -> str:
    """What a queued reply's seal is bound to: it opens only for its own chat."""
    return f"reply:{chat_id}"


class Handling:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        router: Router,
        adapters: Mapping[str, ChannelAdapter],
        messengers: Messengers,
        sent: Callable[[], None],
        unreachable: Callable[[int, str], Awaitable[object]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self.router = router
        self._adapters = adapters
        self._messengers = messengers
        self._sent = sent  # replies were queued: the sender should look now
        # A receipt said the requester cannot be reached (TicketService.mark_unreachable).
        self._unreachable = unreachable

    def adapter(self, channel: str) -> ChannelAdapter:
        adapter = self._adapters.get(channel)
        if adapter is None:  # a channel this process does not run: the row waits for one
            raise UnknownChannel(channel)
        return adapter

    async def handle(self, row: Pending) -> None:
        """Handle one inbox row; raises to have it retried (see InboxWorker)."""
        started = time.monotonic()
        with log_context(channel=row.channel, update_id=row.update_id):
            if row.payload is None:  # nothing left to handle: close it, never loop on it
                async with self._sessions.begin() as session:
                    await Inbox.finish(session, row.id, "ignored")
                return
            adapter = self.adapter(row.channel)
            try:
                plain = self._sealer.open(row.payload, update_context(row.channel, row.update_id))
            except Unreadable as error:
                raise patient(error, row.received_at, utcnow()) from error
            raw = json.loads(plain)
            meaning = await adapter.interpret(raw)
            replies = list(meaning.replies)
            response: Response | None = None
            if meaning.incoming is not None:
                # A requester made by this update starts with this as their last inbound
                # message, in the same commit (not only at the handled mark below).
                with inbound(meaning.inbound_at):
                    response = await self.router.handle(meaning.incoming)
                _bind_ticket(response)
                replies += [(meaning.incoming.chat_id, r) for r in response.replies]
            if isinstance(adapter, MergesReplies):
                replies = merge_replies(replies, adapter.merged)
            async with self._sessions.begin() as session:
                if not await Inbox.finish(session, row.id, meaning.outcome):
                    return  # another worker finished it first: its replies stand
                recorded = await self._record_window(session, row.channel, meaning)
                for chat_id, reply in replies:
                    sealed = self._sealer.seal(
                        json.dumps(reply_to_dict(reply)).encode(), reply_context(chat_id)
                    )
                    Outbox.add_reply(session, row.channel, chat_id, sealed)
            await adapter.acknowledge(raw, response)
            record_update(row.channel, row.kind, meaning.outcome, time.monotonic() - started)
            if recorded is not None and recorded.unreachable:
                await self._cannot_reach(recorded)
        self._sent()

    async def _cannot_reach(self, recorded: Recorded) -> None:
        """A failed status said the requester cannot receive messages (131026): the
        existing "unreachable" path (card and admins, once)."""
        if recorded.ticket_id is not None and self._unreachable is not None:
            await self._unreachable(recorded.ticket_id, "failed status (131026)")

    @staticmethod
    async def _record_window(
        session: AsyncSession, channel: str, meaning: Interpreted
    ) -> Recorded | None:
        """When the person wrote (their reply window), and a receipt of a sent message."""
        if meaning.incoming is not None and meaning.inbound_at is not None:
            await note_inbound(session, channel, meaning.incoming.chat_id, meaning.inbound_at)
        receipt = meaning.receipt
        if receipt is None:
            return None
        return await record_receipt(
            session, channel, receipt.message_id, receipt.status, receipt.at, receipt.error_code
        )

    async def gave_up(self, row: Pending, error: BaseException) -> None:
        """An update failed for good: say so to its chat rather than stay silent."""
        record_update(row.channel, row.kind, "failed", None)
        chat_id = self.adapter(row.channel).chat_of(row.chat_key)
        if chat_id is not None:
            await self._messengers.of(row.channel).send(chat_id, Reply(t.SORRY))


def merge_replies(
    replies: list[tuple[str, Reply]], merged: Callable[[Reply, Reply], Reply | None]
) -> list[tuple[str, Reply]]:
    """Consecutive replies to one chat folded into one where `merged` allows (see
    MergesReplies); the order of what is shown never changes."""
    result: list[tuple[str, Reply]] = []
    for chat_id, reply in replies:
        if result and result[-1][0] == chat_id:
            joined = merged(result[-1][1], reply)
            if joined is not None:
                result[-1] = (chat_id, joined)
                continue
        result.append((chat_id, reply))
    return result


def _bind_ticket(response: Response) -> None:
    """The ticket a reply speaks of, into the log context (best effort)."""
    for reply in response.replies:
        match = TICKET_NUMBER.search(reply.text)
        if match:
            bind_ticket(match.group(1))
            return
