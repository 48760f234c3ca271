"""WhatsApp in: the raw updates of a webhook body into the pipeline's inbox, and what a
stored update means once the pipeline hands it back (pipeline/ports.py's ChannelAdapter).

A requester's chat is private and never an admin's: admins stay on Telegram. A message
says when the requester wrote (the 24-hour window opens from it); a status (sent, delivered,
read, failed), stored keyed `wamid:status`, is a receipt for one outgoing message. A changed
number (or, for a sender known only by it, a changed user id) moves the requester, their
tickets and a dialog in progress to the new chat, as the admin group's supergroup move does;
nothing is said to the new number (its 24-hour window is not open yet).

Two courtesies are best effort and never hold anything up for long: a message taken for
handling is marked read with the typing indicator (`seen`), and the messages of a stored
webhook body are counted against the business number's throughput, which inbound and
outbound share (`inbound`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from chatbot.channels.whatsapp.parse import (
    CHANNEL,
    MESSAGE,
    NO_CHAT,
    STATUS,
    Raw,
    chat_of,
    e164,
    kind,
    lane,
    moved_to,
    to_incoming,
)
from chatbot.channels.whatsapp.render import merged
from chatbot.conversations.messages import Reply, Response
from chatbot.conversations.state import DialogState, DialogStates
from chatbot.db.models import utcnow
from chatbot.pipeline.ports import Described, Interpreted, Receipt
from chatbot.services.chats import ChatMigrations
from chatbot.services.inbox import key_limit
from chatbot.services.tickets import TicketService

log = logging.getLogger(__name__)

# The pipeline's door (Ingress.receive): a channel's raw updates into the inbox.
Receive = Callable[[str, Sequence[Raw]], Awaitable[int]]
# Mark a received message (its wamid) read and show typing (WhatsAppMessenger.mark_read).
Seen = Callable[[str], Awaitable[object]]
# Count received messages against the number's throughput (Pacer.count_inbound).
Inbound = Callable[[int], Awaitable[None]]
# How long a courtesy may hold up an answer, or the webhook's 200, at most.
SEEN_TIMEOUT = 3.0
INBOUND_TIMEOUT = 0.5


class WhatsAppChannel:
    """The WhatsApp adapter: webhook updates into the pipeline's ingress, and their meaning.

    `phone_number_id`: the business number this bot answers for; updates sent to another
    number of the same account (one app can serve several) are ignored. None: any.
    `moves`: where a requester's move is recorded and followed; None: a move is only logged.
    `seen`: marks a message read and shows typing; `inbound`: counts received messages
    against the number's throughput. None: not done.
    """

    channel = CHANNEL

    def __init__(
        self,
        phone_number_id: str | None = None,
        *,
        moves: RequesterMoves | None = None,
        seen: Seen | None = None,
        inbound: Inbound | None = None,
    ) -> None:
        self._number_id = phone_number_id or None
        self._moves = moves
        self._seen = seen
        self._inbound = inbound
        self._ingress: Receive | None = None

    def connect(self, receive: Receive) -> None:
        """Where arrivals go: the pipeline's ingress."""
        self._ingress = receive

    async def receive(self, raws: Sequence[Raw]) -> int:
        """Commit a body's updates to the inbox (see Ingress.receive); only then may the
        webhook answer 200. One the inbox can never hold is logged and skipped, as the
        Telegram poll does: refusing the body would only have Meta retry it for days, and
        hold up the rest of it."""
        assert self._ingress is not None, "connect() the channel to the pipeline first"
        kept = []
        for raw in raws:
            problem = self.problem(raw)
            if problem is None:
                kept.append(raw)
            else:
                log.error("a WhatsApp update that cannot be stored was skipped: %s", problem)
        if not kept:
            return 0
        stored = await self._ingress(CHANNEL, kept)
        await self._count_inbound(sum(1 for raw in kept if self._inbound_message(raw)))
        return stored

    def _inbound_message(self, raw: Raw) -> bool:
        """A message to this bot's number (another number of the account has its own
        budget; a status is no message)."""
        ours = self._number_id is None or raw.get("phone_number_id") == self._number_id
        return ours and raw.get("update") == MESSAGE

    async def _count_inbound(self, messages: int) -> None:
        """The body's messages against the number's throughput: recorded only; a failure
        is logged and never changes the webhook's answer (the body is already stored)."""
        if self._inbound is None or messages == 0:
            return
        try:
            async with asyncio.timeout(INBOUND_TIMEOUT):
                await self._inbound(messages)
        except Exception as error:
            log.warning("inbound WhatsApp messages not counted: %s", type(error).__name__)

    # ---- the adapter port (pipeline/ports.py) ------------------------------------------------

    def problem(self, raw: Raw) -> str | None:
        if raw.get("update") not in (MESSAGE, STATUS):
            return "neither a message nor a status"
        update_id = raw.get("id")
        if not isinstance(update_id, str) or not update_id:
            return "an update without an id"
        if raw.get("update") == MESSAGE and chat_of(raw) is None:
            return "a message without a sender"
        for what, value in (("update_id", update_id), ("chat_key", lane(raw))):
            limit = key_limit(what)
            if len(value) > limit:
                return f"its {what} has {len(value)} characters; the inbox holds {limit}"
        return None

    def describe(self, raw: Raw) -> Described:
        return Described(str(raw["id"]), lane(raw), kind(raw))

    def arrived(self, raw: Raw) -> None:
        """Nothing to start: WhatsApp waits for no answer to a tap."""

    async def interpret(self, raw: Raw) -> Interpreted:
        if self._number_id is not None and raw.get("phone_number_id") != self._number_id:
            return Interpreted(ignored=True)  # another business number of the account
        if raw.get("update") == STATUS:  # nothing for the router: a receipt to record
            return Interpreted(ignored=True, receipt=receipt_of(raw))
        move = moved_to(raw)
        if move is not None:
            return await self._moved(raw, *move)
        incoming = to_incoming(raw)
        if incoming is None:
            return Interpreted(ignored=True)
        await self._mark_seen(str(raw["id"]))
        return Interpreted(incoming, inbound_at=_written_at(raw.get("message")))

    async def _mark_seen(self, wamid: str) -> None:
        """Read ticks and "typing…" while the answer is made: best effort, bounded; a
        failure is logged and the update handled as ever."""
        if self._seen is None:
            return
        try:
            async with asyncio.timeout(SEEN_TIMEOUT):
                await self._seen(wamid)
        except Exception as error:
            reason = getattr(error, "reason", None) or type(error).__name__
            log.warning("a WhatsApp message was not marked read: %s", reason)

    async def _moved(self, raw: Raw, old: str, new: str) -> Interpreted:
        """The sender has a new number or user id: their requester and dialog follow."""
        if self._moves is None:
            log.warning("a WhatsApp user moved to a new id; not followed (no moves configured)")
            return Interpreted(ignored=True)
        number_changed = raw["message"]["system"].get("type") == "user_changed_number"
        tickets = await self._moves.follow(old, new, e164(new) if number_changed else None)
        log.info("a WhatsApp requester moved to a new id; %d open tickets follow", len(tickets))
        return Interpreted()

    async def acknowledge(self, raw: Raw, response: Response | None) -> None:
        """Nothing: a WhatsApp tap has no toast to answer with."""

    def merged(self, earlier: Reply, later: Reply) -> Reply | None:
        """One answer, one message where it fits (pipeline/ports.py MergesReplies)."""
        return merged(earlier, later)

    def chat_of(self, chat_key: str) -> str | None:
        chat = chat_key.removeprefix(f"{CHANNEL}:")
        return None if chat.startswith(NO_CHAT) or chat == chat_key else chat


def _timestamp(holder: object) -> datetime:
    """An update's `timestamp` (Unix seconds), never later than now; now when absent."""
    now = utcnow()
    value = holder.get("timestamp") if isinstance(holder, dict) else None
    try:
        return min(datetime.fromtimestamp(int(str(value)), UTC), now)
    except (TypeError, ValueError, OverflowError, OSError):
        return now


def _written_at(message: object) -> datetime:
    """When the requester wrote: Meta's window runs from the message, not from our handling."""
    return _timestamp(message)


def receipt_of(raw: dict[str, Any]) -> Receipt | None:
    """A status update as a receipt for the message it names (None: not understood)."""
    status = raw.get("status")
    if not isinstance(status, dict):
        return None
    wamid, state = status.get("id"), status.get("status")
    if not isinstance(wamid, str) or not isinstance(state, str):
        return None
    code: int | None = None
    errors = status.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        try:
            code = int(str(errors[0].get("code")))
        except (TypeError, ValueError):
            code = None
    return Receipt(wamid, state, _timestamp(status), code)


class RequesterMoves:
    """A WhatsApp requester's move to a new chat id: recorded (chat_migrations, as a group's
    move), their tickets and unsent replies moved (TicketService.requester_moved), and a
    dialog in progress carried over."""

    def __init__(
        self, migrations: ChatMigrations, tickets: TicketService, dialogs: DialogStates
    ) -> None:
        self._migrations = migrations
        self._tickets = tickets
        self._dialogs = dialogs

    async def follow(self, old: str, new: str, phone: str | None) -> list[str]:
        """The open tickets' numbers that followed (see TicketService.requester_moved)."""
        await self._migrations.record(CHANNEL, old, new)
        tickets = await self._tickets.requester_moved(
            channel=CHANNEL, old_chat_id=old, new_chat_id=new, phone=phone
        )
        state = await self._dialogs.load(CHANNEL, old)
        if not state.idle:
            await self._dialogs.save(CHANNEL, new, state)
            await self._dialogs.save(CHANNEL, old, DialogState())
        return tickets
