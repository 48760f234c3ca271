"""What a channel hands a dialog (Incoming) and what a dialog hands back (Reply, Response)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class IncomingFile:
    file_id: str
    name: str | None = None
    mime: str | None = None
    size: int | None = None
    is_photo: bool = False


@dataclass(frozen=True)
class SharedContact:
    phone: str
    user_id: str | None  # the contact's own platform user id, when the platform knows it


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed, tapped, uploaded, shared."""

    channel: str
    update_id: str
    chat_id: str
    user_id: str
    user_name: str
    in_group: bool = False
    text: str | None = None
    button: str | None = None
    message_id: str | None = None  # the user's message, or the message a button sits on
    replied_to_bot: bool = False
    reply_to_message_id: str | None = None  # the bot message this one replies to
    file: IncomingFile | None = None
    contact: SharedContact | None = None
    other: str | None = None  # sticker, voice, video, location, ...
    sender_is_admin: bool = False
    # The sender's own number as their platform vouches for it (WhatsApp's wa_id), in any
    # notation normalize_phone reads; None where the platform does not tell (Telegram, a
    # WhatsApp user known by their business-scoped id only).
    sender_phone: str | None = None

    @property
    def command(self) -> str | None:
        if self.text and self.text.startswith("/"):
            return self.text.split()[0][1:].split("@")[0].lower()
        return None

    @property
    def actor_id(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Button:
    label: str
    data: str = ""
    url: str | None = None
    web_app: bool = False  # open `url` inside Telegram (signed init data), not a browser


class Keyboard(StrEnum):
    """Reply keyboards a channel knows how to show."""

    SHARE_CONTACT = "share_contact"
    REMOVE = "remove"


@dataclass(frozen=True)
class Reply:
    """A message to show; text is HTML (b, i, code) with user data escaped by the writer."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: Keyboard | None = None
    protect: bool = False
    force_reply: bool = False  # ask the platform to open a reply to this message
    edit_message_id: str | None = None  # edit this message instead of sending a new one


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A reply as plain JSON data, to queue it or keep it for a replay."""
    return asdict(reply)


def reply_from_dict(data: dict[str, Any]) -> Reply:
    keyboard = data.get("keyboard")
    return Reply(
        text=data["text"],
        buttons=tuple(tuple(Button(**b) for b in row) for row in data.get("buttons", ())),
        keyboard=Keyboard(keyboard) if keyboard else None,
        protect=bool(data.get("protect")),
        force_reply=bool(data.get("force_reply")),
        edit_message_id=data.get("edit_message_id"),
    )


@dataclass
class Response:
    """A dialog's answer to one Incoming: messages for that chat and a tap's toast."""

    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None
    alert: bool = False


@dataclass(frozen=True)
class OutgoingFile:
    path: str
    name: str
    caption: str | None = None
    photo: bool = False  # shown inline as a picture (a chart), not as a file to download


class DeliveryError(Exception):
    """A platform refused a message. `permanent` when retrying cannot help (blocked, gone).

    `kind` names the refusal for metrics and decisions: blocked, bad_request, rate_limited,
    server_error, timeout, network, throttled (our own pacing said wait), window (WhatsApp:
    the 24-hour customer-service window is closed) or no_template (the window is closed and
    no template is configured for the notice: the row is held, not failed).
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        kind: str = "bad_request",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.kind = kind

    @property
    def blocked(self) -> bool:
        return self.kind == "blocked"


class MessageGone(DeliveryError):
    """The message to edit no longer exists (deleted in the chat)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


class Throttled(DeliveryError):
    """Our shared pacing (the platform's limits) says this chat must wait `retry_after`."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("paced", permanent=False, retry_after=retry_after, kind="throttled")


class Messenger(Protocol):
    """The port a channel implements so dialogs and the outbox can reach any chat."""

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        """Send and return the platform message id."""

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        """Edit in place; an unchanged message is not an error; MessageGone if deleted."""

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        """Send documents (an album where the platform allows) and return their ids."""

    async def delete(self, chat_id: str, message_id: str) -> None:
        """Delete a message; one already gone is not an error."""

    async def download(self, file_id: str) -> bytes:
        """Fetch an uploaded file's bytes."""


@dataclass(frozen=True)
class TemplateNotice:
    """A notice as a pre-approved template: its kind (outbox.kind) picks the template, the
    ticket number is its first body parameter, `parameters` the further ones in order, and
    `quick_replies` the payloads of its quick-reply buttons in order (what a tap sends back
    as `Incoming.data`)."""

    kind: str
    ticket_number: str | None
    parameters: tuple[str, ...] = ()
    quick_replies: tuple[str, ...] = ()


@runtime_checkable
class WindowedMessenger(Protocol):
    """A messenger whose platform lets us write freely only for `window` after the person's
    last message (WhatsApp: 24 hours); outside it, only as a template."""

    window: timedelta

    async def send_template(self, chat_id: str, notice: TemplateNotice) -> str:
        """Send the notice's template; DeliveryError kind `no_template` when none is set."""
