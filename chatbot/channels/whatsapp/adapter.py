"""WhatsApp in: the raw updates of a webhook body into the pipeline's inbox, and what a
stored update means once the pipeline hands it back (pipeline/ports.py's ChannelAdapter).

A requester's chat is private and never an admin's: admins stay on Telegram. Statuses
(sent, delivered, read, failed) are stored, keyed `wamid:status`, and for now ignored; a
later slice records them per outgoing message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from chatbot.channels.whatsapp.parse import (
    CHANNEL,
    MESSAGE,
    NO_CHAT,
    STATUS,
    Raw,
    chat_of,
    kind,
    lane,
    to_incoming,
)
from chatbot.conversations.messages import Response
from chatbot.pipeline.ports import Described, Interpreted
from chatbot.services.inbox import key_limit

log = logging.getLogger(__name__)

# The pipeline's door (Ingress.receive): a channel's raw updates into the inbox.
Receive = Callable[[str, Sequence[Raw]], Awaitable[int]]


class WhatsAppChannel:
    """The WhatsApp adapter: webhook updates into the pipeline's ingress, and their meaning.

    `phone_number_id`: the business number this bot answers for; updates sent to another
    number of the same account (one app can serve several) are ignored. None: any.
    """

    channel = CHANNEL

    def __init__(self, phone_number_id: str | None = None) -> None:
        self._number_id = phone_number_id or None
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
        return await self._ingress(CHANNEL, kept)

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
        if raw.get("update") == STATUS:
            return Interpreted(ignored=True)  # recorded per outgoing message in a later slice
        if self._number_id is not None and raw.get("phone_number_id") != self._number_id:
            return Interpreted(ignored=True)  # another business number of the account
        incoming = to_incoming(raw)
        return Interpreted(incoming) if incoming is not None else Interpreted(ignored=True)

    async def acknowledge(self, raw: Raw, response: Response | None) -> None:
        """Nothing: a WhatsApp tap has no toast to answer with."""

    def chat_of(self, chat_key: str) -> str | None:
        chat = chat_key.removeprefix(f"{CHANNEL}:")
        return None if chat.startswith(NO_CHAT) or chat == chat_key else chat
