"""The console's WhatsApp requester (`:pemohon-wa`): what the bot sends that chat goes
through the WhatsApp channel's own renderer (`channels/whatsapp/render.py`, which keeps every
message within Meta's limits) and each Cloud API message it makes is printed as a WhatsApp
user sees it: text with `*bold*` markup, reply buttons (at most 3), a list behind its "Pilih"
button (rows with title and description), a CTA URL button (its URL printed to open in the
browser), files as documents or photos.

The buttons and list rows are numbered and answered by typing the number, as the console's
Telegram-like chats are; a tap sends the id render.py gave the button or row, as WhatsApp
sends it back. What WhatsApp cannot do is not done: an edit is sent anew, a delete does
nothing, a tap has no toast, there is no force-reply. The 24-hour window and templates are
not simulated: this is a plain Messenger, not a WindowedMessenger.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Callable
from typing import Any

from chatbot.channels.console.messenger import ButtonLines, ConsoleMessenger, Shown
from chatbot.channels.console.rendering import placeholder
from chatbot.channels.whatsapp.render import CAPTION_MAX, Outgoing, render, shorten
from chatbot.conversations.messages import Button, OutgoingFile, Reply

IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})  # what WhatsApp shows as a photo
OPEN_IN_BROWSER = "(buka di browser)"


def choices_of(message: Outgoing) -> list[Button]:
    """The reply buttons or list rows of a rendered message, as the buttons a tap answers:
    the title WhatsApp shows, the id it sends back."""
    if message.kind != "interactive":
        return []
    action: dict[str, Any] = message.payload["action"]
    if message.payload["type"] == "button":
        replies = [button["reply"] for button in action["buttons"]]
        return [Button(reply["title"], data=reply["id"]) for reply in replies]
    if message.payload["type"] == "list":
        rows = [row for section in action["sections"] for row in section["rows"]]
        return [Button(row["title"], data=row["id"]) for row in rows]
    return []


def body_of(message: Outgoing) -> str:
    """The text a rendered message shows (a text message's body, an interactive's body)."""
    body = message.payload["body"]
    return str(body["text"] if isinstance(body, dict) else body)


def choice_lines(message: Outgoing, first: int, numbered: bool) -> list[str]:
    """A message's buttons or list rows as printed, numbered from `first` when pressable."""
    action: dict[str, Any] = message.payload.get("action", {})

    def mark(index: int) -> str:
        return f"[{first + index}]" if numbered else "·"

    kind = message.payload.get("type")
    if kind == "button":
        titles = [button["reply"]["title"] for button in action["buttons"]]
        return [f"  {mark(i)} {title}" for i, title in enumerate(titles)]
    if kind == "list":
        lines = [f"  ☰ {action['button']}"]
        rows = [row for section in action["sections"] for row in section["rows"]]
        for i, row in enumerate(rows):
            lines.append(f"    {mark(i)} {row['title']}")
            if row.get("description"):
                lines.append(f"        {row['description']}")
        return lines
    return []


def link_line(message: Outgoing) -> str | None:
    """A CTA URL message's button: its label and the URL, to open in the browser."""
    if message.kind != "interactive" or message.payload.get("type") != "cta_url":
        return None
    parameters = message.payload["action"]["parameters"]
    return f"  🔗 {parameters['display_text']} → {parameters['url']} {OPEN_IN_BROWSER}"


class WhatsAppConsoleMessenger:
    """The Messenger port of the console's WhatsApp channel. Its messages are kept with the
    console messenger's (one terminal, one set of chats), so `:lihat` and typed numbers work
    on them; a reply rendered as several messages numbers their choices on, as one."""

    def __init__(self, console: ConsoleMessenger) -> None:
        self._console = console

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        """Print the messages render.py makes of the reply; the id of the last."""
        return self.show(chat_id, render(reply))

    def show(self, chat_id: str, messages: list[Outgoing]) -> str:
        console = self._console
        ids = [console.new_id() for _ in messages]
        choices = [choices_of(message) for message in messages]
        everything = [button for buttons in choices for button in buttons]
        # The last message with choices holds them all: typed numbers answer it.
        holder = max((i for i, buttons in enumerate(choices) if buttons), default=None)
        first = 1
        for index, message in enumerate(messages):
            view = self._viewer(messages) if index == holder else None
            rows = tuple((button,) for button in everything) if index == holder else ()
            shown = console.keep(chat_id, Shown(ids[index], body_of(message), rows, view=view))
            lines = [shown.text]
            if choices[index]:
                group = ids[holder] if holder is not None else shown.id
                start = first
                mark = console.mark(
                    chat_id, group, self._lines(message, start), group=f"wa {group}"
                )
                lines.append(placeholder(mark))
                first += len(choices[index])
            link = link_line(message)
            if link is not None:
                lines.append(link)
            console.print_text(chat_id, "\n".join(lines))
        return ids[-1]

    @staticmethod
    def _lines(message: Outgoing, first: int) -> ButtonLines:
        return lambda numbered: choice_lines(message, first, numbered)

    @staticmethod
    def _viewer(messages: list[Outgoing]) -> Callable[[], str]:
        """How `:lihat` shows a reply's choices again: each message with its numbers."""

        def view() -> str:
            parts, first = [], 1
            for message in messages:
                lines = [body_of(message), *choice_lines(message, first, True)]
                first += len(choices_of(message))
                link = link_line(message)
                parts.append("\n".join([*lines, *([link] if link else [])]))
            return "\n\n".join(parts)

        return view

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        """WhatsApp cannot edit a message: the new version is sent anew."""
        await self.send(chat_id, reply)

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        """Each file as a document, or a photo when it is one WhatsApp shows inline."""
        ids, lines = [], []
        for file in files:
            mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            photo = file.photo and mime in IMAGE_TYPES
            caption = shorten(file.caption, CAPTION_MAX) if file.caption else ""
            shown = self._console.keep(chat_id, Shown(self._console.new_id(), caption))
            ids.append(shown.id)
            path = await asyncio.to_thread(self._console.receive, file)
            icon = "🖼️ foto" if photo else "📄 dokumen"
            lines.append(f"{icon} {file.name}{f' — {caption}' if caption else ''}\n   {path}")
        self._console.print_text(chat_id, "\n".join(lines))
        return ids

    async def delete(self, chat_id: str, message_id: str) -> None:
        """Nothing: the bot cannot delete a WhatsApp message."""

    async def download(self, file_id: str) -> bytes:
        return await self._console.download(file_id)
