"""The console as a channel adapter (pipeline/ports.py): what the person did at the
terminal travels through the inbox as a small JSON update, like a Telegram update does.

An update names the persona's chat and what was done there (typed text, a button pressed on
a message, a file, a shared contact, something unsupported). `interpret` makes it the
`Incoming` the router reads, with the persona's admin flag; `acknowledge` prints a tap's
toast and closes a question of the bot once it was answered. One adapter per console
channel: "console" (Telegram-like) and "console-wa" (WhatsApp-like: the persona's number is
its verified phone, and a tap has no toast).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatbot.channels.console.messenger import ConsoleMessenger
from chatbot.channels.console.personas import CHANNEL, WA_CHANNEL, Persona, persona_in
from chatbot.conversations import texts as t
from chatbot.conversations.messages import Incoming, IncomingFile, Response, SharedContact
from chatbot.pipeline.ports import Described, Interpreted, Raw

# What a console update may say besides its id and chat; each becomes the Incoming field of
# the same name.
FIELDS = (
    "text",
    "button",
    "message_id",
    "replied_to_bot",
    "reply_to_message_id",
    "file",
    "contact",
    "other",
)


def console_update(persona: Persona, update_id: str, **fields: Any) -> Raw:
    """What the person did in their chat, as JSON data (files and contacts as dicts)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a console update field: {', '.join(sorted(unknown))}")
    return {
        "update_id": update_id,
        "chat_id": persona.chat_id,
        **{name: value for name, value in fields.items() if value is not None},
    }


def _kind(raw: Raw) -> str:
    """What the update is, for the metrics: the first of its fields that is set."""
    return next((name for name in ("button", "file", "contact", "other") if name in raw), "text")


class ConsoleAdapter:
    """The console's updates in and out of the pipeline; `say` prints a line in the console
    (a tap's toast), `messenger` knows which question of the bot awaits an answer."""

    def __init__(
        self, messenger: ConsoleMessenger, say: Callable[[str], None], channel: str = CHANNEL
    ) -> None:
        self._messenger = messenger
        self._say = say
        self._channel = channel

    @property
    def channel(self) -> str:
        return self._channel

    def problem(self, raw: Raw) -> str | None:
        if not isinstance(raw.get("update_id"), str):
            return "a console update without an update id"
        if persona_in(str(raw.get("chat_id")), self._channel) is None:
            return "a console update for a chat the console does not have"
        return None

    def describe(self, raw: Raw) -> Described:
        return Described(raw["update_id"], f"{self._channel}:{raw['chat_id']}", _kind(raw))

    def arrived(self, raw: Raw) -> None:
        """Nothing to start: the console waits for its own updates to be handled."""

    def chat_of(self, chat_key: str) -> str | None:
        return chat_key.removeprefix(f"{self._channel}:")

    async def interpret(self, raw: Raw) -> Interpreted:
        persona = persona_in(raw["chat_id"], self._channel)
        if persona is None:
            return Interpreted(ignored=True)
        file, contact = raw.get("file"), raw.get("contact")
        return Interpreted(
            Incoming(
                channel=self._channel,
                update_id=raw["update_id"],
                chat_id=persona.chat_id,
                user_id=persona.user_id,
                user_name=persona.user_name,
                in_group=persona.in_group,
                sender_is_admin=persona.is_admin,
                text=raw.get("text"),
                button=raw.get("button"),
                message_id=raw.get("message_id"),
                replied_to_bot=bool(raw.get("replied_to_bot")),
                reply_to_message_id=raw.get("reply_to_message_id"),
                file=IncomingFile(**file) if file is not None else None,
                contact=SharedContact(**contact) if contact is not None else None,
                other=raw.get("other"),
                sender_phone=persona.phone,
            )
        )

    async def acknowledge(self, raw: Raw, response: Response | None) -> None:
        """Show a tap's toast; an answer to the bot's question closes it, unless refused."""
        if response is None or self._channel == WA_CHANNEL:
            return  # a WhatsApp tap has no toast, and WhatsApp asks no force-reply question
        if response.toast:
            kind = "peringatan" if response.alert else "notifikasi"
            self._say(f"({kind}) {t.plain(response.toast)}")
        if raw.get("replied_to_bot") and "text" in raw:
            refused = any(reply.text.startswith("⚠️") for reply in response.replies)
            if not refused:  # answered; a refused answer leaves the question open
                self._messenger.force_reply.pop(raw["chat_id"], None)
