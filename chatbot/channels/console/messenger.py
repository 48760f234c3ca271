"""The console's Messenger: whatever the bot sends to any of the console's chats is printed
to the one terminal, under a header naming the chat, and kept so edits, taps and deletes
work on it."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.channels.console.personas import ADMIN_CHAT_ID, ADMIN_PRIVATE, chat_name
from chatbot.channels.console.rendering import (
    BUTTONS_MARK,
    OLDER_BUTTONS,
    Rows,
    button_lines,
    header,
    render,
)
from chatbot.conversations.messages import Button, DeliveryError, OutgoingFile, Reply

# A message's buttons as printed lines, numbered (to press by typing) or not.
ButtonLines = Callable[[bool], list[str]]


def _no_lines(numbered: bool) -> list[str]:
    return []


@dataclass
class Shown:
    """A message in one of the console's chats, kept so edits, taps and deletes work."""

    id: str
    text: str
    rows: Rows = ()
    from_bot: bool = True
    deleted: bool = False
    # How `:lihat` shows it again, when not as a Telegram-like message (WhatsApp's look).
    view: Callable[[], str] | None = field(default=None, compare=False)

    @property
    def buttons(self) -> list[Button]:
        """Numbered as printed: row by row, left to right."""
        return [button for row in self.rows for button in row]


class ConsoleMessenger:
    """The Messenger port over a text stream: every chat prints to the same terminal."""

    def __init__(
        self,
        write: Callable[[str], object],
        admin_chat_id: str = ADMIN_CHAT_ID,
        received: Path | None = None,
    ):
        self._write = write
        self._admin_chat_id = admin_chat_id
        # Where a "received" file is kept: a chat keeps what it got, while the bot may delete
        # its own copy once sent (a report, an archive ZIP).
        self._received = received
        self.chats: dict[str, dict[str, Shown]] = {}
        self.force_reply: dict[str, str] = {}  # chat id -> the bot question awaiting a reply
        # chat id -> the message printed last with buttons (sent or edited): typed numbers
        # press its buttons (the ones at the bottom of the screen), whichever message is newer.
        self.numbered: dict[str, str] = {}
        # mark -> (chat id, numbering group, the buttons' lines numbered or not): of a chat,
        # only the group printed last in a batch is numbered (a WhatsApp reply printed as
        # two lists is one group, numbered on).
        self._marks: dict[int, tuple[str, str, ButtonLines]] = {}
        self._mark_ids = itertools.count(1)
        self.input_deleted = False  # the dialog deleted a message the person typed
        # Ids unique across runs: the database keeps card message ids between sessions.
        self._ids = itertools.count(time.time_ns() // 1000)

    @property
    def admin_chat_id(self) -> str:
        return self._admin_chat_id

    def new_id(self) -> str:
        return str(next(self._ids))

    def keep(self, chat_id: str, message: Shown) -> Shown:
        self.chats.setdefault(chat_id, {})[message.id] = message
        return message

    def latest_with_buttons(self, chat_id: str) -> Shown | None:
        """The message typed numbers press: the one printed last with buttons; else (it
        lost them, or was deleted) the newest message that still has some."""
        shown = self.chats.get(chat_id, {})
        numbered = shown.get(self.numbered.get(chat_id, ""))
        if numbered is not None and numbered.buttons and not numbered.deleted:
            return numbered
        for message in reversed(list(shown.values())):
            if message.buttons and not message.deleted:
                return message
        return None

    def _print(self, chat_id: str, message: Shown, reply: Reply, *, edited: bool = False) -> None:
        """Print a message; its buttons are numbered only if no later message with buttons
        is printed to the chat in the same batch (see `number_buttons`)."""
        note = " (diubah)" if edited else ""
        mark = None
        if reply.buttons:
            rows = reply.buttons
            mark = self.mark(
                chat_id, message.id, lambda numbered: button_lines(rows, numbered=numbered)
            )
        self.print_text(chat_id, render(reply, mark=mark), note)

    def mark(
        self, chat_id: str, message_id: str, lines: ButtonLines, group: str | None = None
    ) -> int:
        """A placeholder mark for a message's buttons, numbered or not once the batch is
        printed (`number_buttons`); typed numbers now press `message_id`'s buttons."""
        mark = next(self._mark_ids)
        self._marks[mark] = (chat_id, group or f"mark {mark}", lines)
        self.numbered[chat_id] = message_id
        return mark

    def print_text(self, chat_id: str, body: str, note: str = "") -> None:
        self._write(f"\n{header(chat_name(chat_id), note)}\n{body}\n")

    def number_buttons(self, printed: str) -> str:
        """Buttons in a printed batch: those of each chat's last message with buttons get
        the numbers to type; an earlier message's are listed without, saying so."""
        marks = [int(mark) for mark in BUTTONS_MARK.findall(printed)]
        last = {self._marks[mark][0]: self._marks[mark][1] for mark in marks if mark in self._marks}

        def buttons(match: re.Match[str]) -> str:
            chat_id, group, lines_of = self._marks.pop(int(match[1]), ("", "", _no_lines))
            numbered = last.get(chat_id) == group
            lines = lines_of(numbered)
            return "\n".join(lines if numbered else [*lines, OLDER_BUTTONS])

        return BUTTONS_MARK.sub(buttons, printed)

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        message = self.keep(chat_id, Shown(self.new_id(), reply.text, reply.buttons))
        if reply.force_reply:
            self.force_reply[chat_id] = message.id
        self._print(chat_id, message, reply)
        return message.id

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        message = self.chats.get(chat_id, {}).get(message_id)
        if message is None:  # e.g. a card sent in an earlier console session
            message = self.keep(chat_id, Shown(message_id, ""))
        elif message.text == reply.text and message.rows == reply.buttons:
            return  # unchanged, as Telegram's "message is not modified"
        message.text, message.rows = reply.text, reply.buttons
        self._print(chat_id, message, reply, edited=True)

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        ids, lines = [], []
        for file in files:
            message = self.keep(chat_id, Shown(self.new_id(), file.caption or file.name))
            ids.append(message.id)
            caption = f" — {file.caption}" if file.caption else ""
            path = await asyncio.to_thread(self.receive, file)
            lines.append(f"📎 {file.name}{caption}\n   {path}")
        self.print_text(chat_id, "\n".join(lines))
        return ids

    def receive(self, file: OutgoingFile) -> str:
        """Where the chat keeps the file: absolute, so it opens from the terminal whatever
        the working directory."""
        if self._received is None:
            return os.path.abspath(file.path)
        self._received.mkdir(parents=True, exist_ok=True)
        target = self._received / Path(file.name).name
        shutil.copyfile(file.path, target)
        return os.path.abspath(target)

    async def delete(self, chat_id: str, message_id: str) -> None:
        message = self.chats.get(chat_id, {}).get(message_id)
        if message is None or message.deleted:
            return
        message.deleted, message.text = True, ""
        self.input_deleted = self.input_deleted or not message.from_bot
        if not message.from_bot and chat_id == ADMIN_PRIVATE.chat_id:
            self._write("(pesan berisi password dihapus)\n")
        else:
            self._write(f"(pesan dihapus di {chat_name(chat_id)})\n")

    async def download(self, file_id: str) -> bytes:
        """A file sent from the console: its id is its path."""
        try:
            return await asyncio.to_thread(Path(file_id).read_bytes)
        except OSError as error:
            raise DeliveryError(f"cannot read {file_id}: {error}", permanent=True) from None
