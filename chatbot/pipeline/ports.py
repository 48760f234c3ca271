"""The port each channel implements so the one pipeline can carry its updates.

A channel adapter knows its platform's raw updates (dicts of JSON data) and nothing of the
inbox, the worker or the outbox: it says how an update is keyed and ordered, whether it can
be stored at all, what it means (an `Incoming` for the router, or something the adapter
settles itself, like a Telegram group's move to a supergroup), and how the platform wants an
update acknowledged once handled (Telegram's answer to a button tap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from chatbot.conversations.messages import Incoming, Reply, Response

Raw = dict[str, Any]


@dataclass(frozen=True)
class Described:
    """What the inbox orders and dedupes a raw update by."""

    update_id: str
    chat_key: str  # the lane: one chat's updates are handled in order, one at a time
    kind: str


@dataclass(frozen=True)
class Receipt:
    """The platform's word on a message we sent (WhatsApp's status webhooks)."""

    message_id: str  # the platform's id of the sent message (outbox.platform_message_id)
    status: str  # sent | delivered | read | failed
    at: datetime
    error_code: int | None = None  # a failed status's reason (131026, 131047, ...)


@dataclass
class Interpreted:
    """What an adapter made of a raw update: an Incoming for the router, and/or replies it
    settled itself (chat id, reply), or nothing at all (`ignored`).

    `inbound_at`: on a channel that lets us answer freely only for a while after the
    person wrote (WhatsApp's 24 hours), when they wrote. `receipt`: a status of a message
    we sent, recorded on its outbox row."""

    incoming: Incoming | None = None
    replies: list[tuple[str, Reply]] = field(default_factory=list)
    ignored: bool = False
    inbound_at: datetime | None = None
    receipt: Receipt | None = None

    @property
    def outcome(self) -> str:
        return "ignored" if self.ignored else "handled"


class ChannelAdapter(Protocol):
    @property
    def channel(self) -> str:
        """The channel's name, as stored on inbox and outbox rows ("telegram", ...)."""

    def problem(self, raw: Raw) -> str | None:
        """Why this update can never be stored (None: it can); refused at the door."""

    def describe(self, raw: Raw) -> Described: ...

    def arrived(self, raw: Raw) -> None:
        """Called once the update is accepted, before it is stored (a tap's answer timer)."""

    async def interpret(self, raw: Raw) -> Interpreted:
        """The update's meaning; the admin check and platform housekeeping live here."""

    async def acknowledge(self, raw: Raw, response: Response | None) -> None:
        """After the handled mark is committed: what the platform wants (a tap's toast)."""

    def chat_of(self, chat_key: str) -> str | None:
        """The chat an inbox lane belongs to (None: an update without a chat)."""


@runtime_checkable
class MergesReplies(Protocol):
    """An adapter whose platform should show one answer as one message where it can
    (WhatsApp: about one message per 6 s to one user, so three messages for one tap mean
    waiting). Handling offers it each pair of consecutive replies to the same chat."""

    def merged(self, earlier: Reply, later: Reply) -> Reply | None:
        """`earlier` shown inside `later`'s message (one message on the platform, within
        its limits), or None when they must stay two."""
