"""A console session: what the person types becomes an update for the pipeline (a line of
text, a number pressing a button, a file, a shared contact), or a console command (switch
persona, show the buttons again, help, quit); `feed` returns what the bot printed for it.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from chatbot.channels.console.adapter import ConsoleAdapter, console_update
from chatbot.channels.console.messenger import ConsoleMessenger, Shown
from chatbot.channels.console.personas import (
    DEFAULT_PHONE,
    PERSONAS,
    REQUESTER,
    WA_CHANNEL,
    chat_name,
)
from chatbot.channels.console.rendering import RULE, first_line, header, render
from chatbot.channels.console.whatsapp import WhatsAppConsoleMessenger
from chatbot.conversations.messages import Reply
from chatbot.pipeline.ports import Raw

log = logging.getLogger(__name__)

BUTTON_NUMBER = re.compile(r"^\d{1,2}$")

# The pipeline's door (Ingress.receive): a channel's raw updates into the inbox.
Receive = Callable[[str, Sequence[Raw]], Awaitable[int]]
# Waits until the pipeline handled what it received and delivered what that queued.
Settle = Callable[[], Awaitable[None]]
# Delivers what the outbox holds now.
Flush = Callable[[], Awaitable[object]]

HELP = """\
Perintah konsol:
  :pemohon          jadi pemohon (Pemohon Uji) di chat pribadinya dengan bot
  :pemohon-wa       jadi pemohon di WhatsApp (Pemohon WA, +62 812-0000-2002): balasan bot
                    tampil seperti di WhatsApp (tombol, daftar "Pilih", tombol link)
  :grup             jadi admin (Admin Uji) di grup admin agency
  :admin            jadi admin di chat pribadinya dengan bot (tempat mengisi hasil)
  1, 2, ...         ketuk tombol bernomor itu: tombol pesan bertombol yang terakhir tampil
                    di chat ini (hanya pesan itu yang tombolnya bernomor)
  :lihat            tampilkan lagi pesan bertombol terakhir di chat ini
  :file PATH        kirim file (PDF/gambar) sebagai dokumen; bisa juga ketik path-nya saja
  :foto PATH        kirim gambar sebagai foto
  :kontak [NOMOR]   bagikan nomor HP dengan tombol 📱 (nomor akun sendiri, terverifikasi)
  :stiker           kirim stiker (untuk mencoba masukan yang tidak didukung)
  :bantuan          daftar ini
  :keluar           keluar (juga Ctrl-D atau Ctrl-C)
Teks lain dikirim apa adanya, termasuk perintah bot seperti /start, /status, /batal.
Di grup, bot hanya membaca tombol dan balasan atas pertanyaannya (seperti di Telegram)."""

IGNORED_IN_GROUP = (
    "(diabaikan: di grup bot hanya membaca perintah, tombol dan balasan atas pertanyaannya)"
)


class ConsoleSession:
    """The terminal's side of the console channel: typed lines in, printed chats out."""

    def __init__(self, received: Path | None = None) -> None:
        self._out = io.StringIO()
        self.messenger = ConsoleMessenger(self._arrive, received=received)
        self.adapter = ConsoleAdapter(self.messenger, self._say)
        # The WhatsApp requester's chat: its own channel, its messages kept with the rest.
        self.wa_messenger = WhatsAppConsoleMessenger(self.messenger)
        self.wa_adapter = ConsoleAdapter(self.messenger, self._say, channel=WA_CHANNEL)
        self.persona = REQUESTER
        self.finished = False
        # Set when something may have reached a chat outside a typed line (the browser, a
        # sweep): run_console then prints it at once instead of after the next Enter.
        self.arrived = asyncio.Event()
        # Unique across runs: the inbox and the router remember update ids for days.
        self._updates = itertools.count(time.time_ns() // 1000)
        self._receive: Receive | None = None
        self._settle: Settle | None = None
        self._flush: Flush | None = None

    def connect(self, receive: Receive, settle: Settle, flush: Flush) -> None:
        """The pipeline this console feeds (chatbot.app.console_bot connects it)."""
        self._receive, self._settle, self._flush = receive, settle, flush

    @property
    def prompt(self) -> str:
        return f"[{self.persona.key}] > "

    def _take(self) -> str:
        text = self._out.getvalue()
        self._out.seek(0)
        self._out.truncate()
        return self.messenger.number_buttons(text)

    def _say(self, text: str) -> None:
        self._out.write(text + "\n")

    def _arrive(self, text: str) -> None:
        """What the bot shows in a chat: kept to print, and the console woken."""
        self._out.write(text)
        self.arrived.set()

    def wake(self) -> None:
        """Something may be waiting in the outbox (a page was used, a sweep ran)."""
        self.arrived.set()

    async def flush_outbox(self) -> str:
        """Deliver what the outbox holds; returns what was printed."""
        assert self._flush is not None, "connect() the console to the pipeline first"
        await self._flush()
        return self._take()

    async def feed(self, line: str) -> str:
        """Handle one typed line and return everything it printed: whatever the bot did
        with the update it became, once the pipeline has handled and delivered it."""
        self.messenger.input_deleted = False
        await self._feed(line.rstrip("\r\n"))
        return self._take()

    async def _feed(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.startswith(":"):
            await self._console_command(text)
        elif BUTTON_NUMBER.match(text):
            await self._press(int(text))
        elif (path := existing_file(text)) is not None:
            await self._send(file=file_of(path, photo=False))
        else:
            await self._send(text=text)

    async def _console_command(self, text: str) -> None:
        name, _, arg = text[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in PERSONAS:
            self.persona = PERSONAS[name]
            self._say(f"(sekarang Anda {self.persona.user_name}, {self.persona.where})")
        elif name in ("bantuan", "help", "?"):
            self._say(HELP)
        elif name in ("keluar", "exit", "quit"):
            self.finished = True
        elif name == "lihat":
            self._show_latest()
        elif name in ("file", "foto"):
            path = existing_file(arg, loose=True)
            if path is None:
                self._say(f"(file tidak ditemukan: {arg or '-'}; contoh: :{name} surat.pdf)")
                return
            await self._send(file=file_of(path, photo=name == "foto"))
        elif name == "kontak":
            phone = arg or self.persona.phone or DEFAULT_PHONE
            await self._send(contact={"phone": phone, "user_id": self.persona.user_id})
        elif name == "stiker":
            await self._send(other="sticker")
        else:
            self._say(f"(perintah konsol tidak dikenal: :{name}; ketik :bantuan)")

    def _show_latest(self) -> None:
        chat_id = self.persona.chat_id
        latest = self.messenger.latest_with_buttons(chat_id)
        if latest is None:
            self._say("(belum ada pesan bertombol di chat ini)")
            return
        self._say(f"{RULE} pesan terakhir bertombol di {chat_name(chat_id)} {RULE}")
        self._say(latest.view() if latest.view else render(Reply(latest.text, latest.rows)))

    async def _press(self, number: int) -> None:
        message = self.messenger.latest_with_buttons(self.persona.chat_id)
        if message is None:
            self._say("(tidak ada tombol di chat ini; ketik teksnya, atau :bantuan)")
            return
        if not 1 <= number <= len(message.buttons):
            self._say(f"(tidak ada tombol [{number}]; pilih 1-{len(message.buttons)})")
            return
        button = message.buttons[number - 1]
        self._say(f"(mengetuk: {button.label}) pada pesan: «{first_line(message.text)}»")
        if button.url:
            self._say(f"(buka di browser: {button.url})")
            return
        await self._handle(button=button.data, message_id=message.id)

    async def _send(self, *, text: str | None = None, **fields: Any) -> None:
        """Something the person sent in the chat (not a tap). In the group the bot reads
        only commands and answers to its question, as on Telegram."""
        persona = self.persona
        replied = False
        question = self.messenger.force_reply.get(persona.chat_id)
        if persona.in_group:
            command = (text or "").startswith("/")
            replied = question is not None and not command
            if not replied and not command:
                self._say(IGNORED_IN_GROUP)
                return
        own = self.messenger.keep(
            persona.chat_id, Shown(self.messenger.new_id(), text or "", from_bot=False)
        )
        await self._handle(
            text=text,
            message_id=own.id,
            replied_to_bot=replied,
            reply_to_message_id=question if replied else None,
            **fields,
        )

    async def _handle(self, **fields: Any) -> None:
        """Hand the update to the pipeline and wait until it was handled and its replies
        (and whatever it queued) were printed."""
        assert self._receive is not None, "connect() the console to the pipeline first"
        assert self._settle is not None
        raw = console_update(self.persona, str(next(self._updates)), **fields)
        try:
            await self._receive(self.persona.channel, [raw])
        except Exception:
            # Never log the update itself: it may hold a NIP or a password.
            log.exception("storing a console update failed")
            self._say(f"\n{header(chat_name(self.persona.chat_id))}")
            self._say("Maaf, terjadi gangguan. Silakan coba lagi.")
            return
        await self._settle()


def existing_file(text: str, *, loose: bool = False) -> Path | None:
    """A typed path to a file (a terminal's drag and drop quotes it); None otherwise.

    Without `loose`, only something that looks like a path counts, so a typed word that
    happens to name a file in the current directory stays text.
    """
    raw = text.strip().strip("'\"")
    if not raw or (not loose and "/" not in raw and "." not in raw):
        return None
    path = Path(raw).expanduser()
    try:
        return path.resolve() if path.is_file() else None
    except OSError:
        return None


def file_of(path: Path, *, photo: bool) -> dict[str, Any]:
    """A file sent from the console, as an update carries it (the bot reads it by path)."""
    return {
        "file_id": str(path),
        "name": path.name,
        "mime": None,
        "size": path.stat().st_size,
        "is_photo": photo,
    }
