"""Which messenger reaches a chat: a requester's by the channel they wrote on, the admins'
on the one channel the Admin Agency works from (Telegram).

Requesters may use any channel; the admin group, its buttons and the private hand-over stay
on one. Every send to a requester (a reply, a notice, the result link) picks its messenger
by the requester's channel, never by the channel an admin acted on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chatbot.conversations.messages import DeliveryError, Messenger


class UnknownChannel(DeliveryError):
    """A chat on a channel this process does not run (not configured): not delivered now,
    retried later, like any other passing failure (the operator may configure it)."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"channel {channel!r} is not running", permanent=False, kind="unconfigured"
        )
        self.channel = channel


@dataclass(frozen=True)
class Messengers:
    channels: Mapping[str, Messenger]
    admin_channel: str
    # The admin group's chat id now (it may move: a Telegram group upgraded to a supergroup).
    admin_chat: Callable[[], str]

    def of(self, channel: str) -> Messenger:
        try:
            return self.channels[channel]
        except KeyError:
            raise UnknownChannel(channel) from None

    @property
    def admins(self) -> Messenger:
        """The messenger of the admin group and the admins' private chats."""
        return self.of(self.admin_channel)

    @property
    def admin_chat_id(self) -> str:
        return self.admin_chat()

    def is_admin_group(self, channel: str, chat_id: str) -> bool:
        return channel == self.admin_channel and chat_id == self.admin_chat()
