"""The console channel: the whole SOP in a terminal, with no Telegram token.

One person plays three chats in turn: the requester's private chat with the bot, the Admin
Agency's group, and an admin's private chat with the bot (where results are handed over).
Every message the bot sends to any of them is printed with a header naming the chat; buttons
are numbered and pressed by typing the number. The dialogs, the outbox and the web app for
one-time links are the real ones, exactly as the Telegram adapter uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import re
import select
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from chatbot.app import App
from chatbot.conversations import texts as t
from chatbot.conversations.messages import (
    Button,
    DeliveryError,
    Incoming,
    IncomingFile,
    Keyboard,
    OutgoingFile,
    Reply,
    Response,
    SharedContact,
)
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.router import Router
from chatbot.pipeline.periodic import (
    DEADLINES_EVERY,
    HOUSEKEEPING_EVERY,
    OUTBOX_EVERY,
    Periodic,
    every,
)
from chatbot.pipeline.sender import OutboxSender
from chatbot.runner import web_server
from chatbot.services.inbox import Inbox

log = logging.getLogger(__name__)

CHANNEL = "console"
ADMIN_CHAT_ID = "-100"
DEFAULT_PHONE = "+6281200001001"
RULE = "──"
_BUTTON_NUMBER = re.compile(r"^\d{1,2}$")
# Where a printed message's buttons go; numbered or not once the batch is printed.
_BUTTONS_MARK = re.compile(r"\x00(\d+)\x00")
OLDER_BUTTONS = "  (tombol pesan ini tanpa nomor: angka memilih tombol pesan terbaru di bawah)"


@dataclass(frozen=True)
class Persona:
    """Who is typing, and in which chat."""

    key: str  # what the prompt shows
    where: str  # said when switching to this persona
    chat_id: str
    user_id: str
    user_name: str
    in_group: bool = False
    is_admin: bool = False


REQUESTER = Persona("pemohon", "di chat pribadi dengan bot", "1001", "1001", "Pemohon Uji")
GROUP = Persona(
    "grup admin", "di grup admin agency", ADMIN_CHAT_ID, "9001", "Admin Uji", True, True
)
ADMIN_PRIVATE = Persona("admin pribadi", "di chat pribadi dengan bot", "9001", "9001", "Admin Uji")
PERSONAS = {"pemohon": REQUESTER, "grup": GROUP, "admin": ADMIN_PRIVATE}
CHAT_NAMES = {
    REQUESTER.chat_id: "pemohon",
    GROUP.chat_id: "grup admin",
    ADMIN_PRIVATE.chat_id: "admin (pribadi)",
}

HELP = """\
Perintah konsol:
  :pemohon          jadi pemohon (Pemohon Uji) di chat pribadinya dengan bot
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


def chat_name(chat_id: str) -> str:
    return CHAT_NAMES.get(chat_id, f"chat {chat_id}")


@dataclass
class Shown:
    """A message in one of the console's chats, kept so edits, taps and deletes work."""

    id: str
    text: str
    rows: tuple[tuple[Button, ...], ...] = ()
    from_bot: bool = True
    deleted: bool = False

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
        self._marks: dict[int, tuple[str, tuple[tuple[Button, ...], ...]]] = {}
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
        body = self.render(reply, mark=next(self._mark_ids) if reply.buttons else None)
        if reply.buttons:
            mark = int(_BUTTONS_MARK.findall(body)[0])
            self._marks[mark] = (chat_id, reply.buttons)
            self.numbered[chat_id] = message.id
        self._print_text(chat_id, body, note)

    def _print_text(self, chat_id: str, body: str, note: str = "") -> None:
        self._write(f"\n{RULE} ke {chat_name(chat_id)}{note} {RULE}\n{body}\n")

    def number_buttons(self, printed: str) -> str:
        """Buttons in a printed batch: those of each chat's last message with buttons get
        the numbers to type; an earlier message's are listed without, saying so."""
        marks = [int(mark) for mark in _BUTTONS_MARK.findall(printed)]
        last = {self._marks[mark][0]: mark for mark in marks if mark in self._marks}

        def buttons(match: re.Match[str]) -> str:
            mark = int(match[1])
            chat_id, rows = self._marks.pop(mark, ("", ()))
            numbered = last.get(chat_id) == mark
            lines = _button_lines(rows, numbered=numbered)
            return "\n".join(lines if numbered else [*lines, OLDER_BUTTONS])

        return _BUTTONS_MARK.sub(buttons, printed)

    @staticmethod
    def render(reply: Reply, mark: int | None = None) -> str:
        """A message as printed; with `mark`, its buttons are a placeholder numbered later."""
        lines = [t.plain(reply.text)]
        if mark is not None:
            lines.append(f"\x00{mark}\x00")
        else:
            lines += _button_lines(reply.buttons, numbered=True)
        if reply.keyboard is Keyboard.SHARE_CONTACT:
            lines.append(f"  💡 ketik :kontak untuk membagikan nomor ({t.SHARE_CONTACT})")
        if reply.force_reply:
            lines.append(
                "  ↩️ baris berikutnya yang Anda ketik di grup (:grup) menjadi balasan pesan ini"
            )
        return "\n".join(lines)

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        message = self.keep(
            chat_id,
            Shown(self.new_id(), reply.text, reply.buttons),
        )
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
            path = await asyncio.to_thread(self._receive, file)
            lines.append(f"📎 {file.name}{caption}\n   {_absolute(path)}")
        self._print_text(chat_id, "\n".join(lines))
        return ids

    def _receive(self, file: OutgoingFile) -> str:
        if self._received is None:
            return file.path
        self._received.mkdir(parents=True, exist_ok=True)
        target = self._received / Path(file.name).name
        shutil.copyfile(file.path, target)
        return str(target)

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
        try:
            return await asyncio.to_thread(Path(file_id).read_bytes)
        except OSError as error:
            raise DeliveryError(f"cannot read {file_id}: {error}", permanent=True) from None


class ConsoleSession:
    """Turns typed lines into Incoming updates and shows what the bot does with them."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._out = io.StringIO()
        self.messenger = ConsoleMessenger(
            self._arrive, received=app.settings.storage_dir / "console-received"
        )
        messenger = self.messenger
        self.messengers = Messengers({CHANNEL: messenger}, CHANNEL, lambda: messenger.admin_chat_id)
        self.router = Router(app.services, self.messengers)
        self.sender = OutboxSender(app.services, app.outbox, self.messengers)
        self.jobs = Periodic(
            app.settings, app.services, app.sessions, Inbox(app.sessions), app.outbox, app.watch
        )
        self.persona = REQUESTER
        self.finished = False
        # Set when something may have reached a chat outside a typed line (the browser, a
        # sweep): run_console then prints it at once instead of after the next Enter.
        self.arrived = asyncio.Event()
        # Unique across runs: the router remembers update ids it has seen for two days.
        self._updates = itertools.count(time.time_ns() // 1000)

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
        await self.sender.flush()
        return self._take()

    async def feed(self, line: str) -> str:
        """Handle one typed line and return everything it printed."""
        self.messenger.input_deleted = False
        await self._feed(line.rstrip("\r\n"))
        return self._take()

    async def _feed(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.startswith(":"):
            await self._console_command(text)
            return
        if _BUTTON_NUMBER.match(text):
            await self._press(int(text))
            return
        path = _existing_file(text)
        if path is not None:
            await self._send(file=_incoming_file(path, photo=False))
            return
        await self._send(text=line.strip())

    async def _console_command(self, text: str) -> None:
        name, _, arg = text[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in PERSONAS:
            self.persona = PERSONAS[name]
            persona = self.persona
            self._say(f"(sekarang Anda {persona.user_name}, {persona.where})")
        elif name in ("bantuan", "help", "?"):
            self._say(HELP)
        elif name in ("keluar", "exit", "quit"):
            self.finished = True
        elif name == "lihat":
            latest_chat = self.persona.chat_id
            latest = self.messenger.latest_with_buttons(latest_chat)
            if latest is None:
                self._say("(belum ada pesan bertombol di chat ini)")
            else:
                self._say(f"{RULE} pesan terakhir bertombol di {chat_name(latest_chat)} {RULE}")
                self._say(self.messenger.render(Reply(latest.text, latest.rows)))
        elif name in ("file", "foto"):
            path = _existing_file(arg, loose=True)
            if path is None:
                self._say(f"(file tidak ditemukan: {arg or '-'}; contoh: :{name} surat.pdf)")
                return
            await self._send(file=_incoming_file(path, photo=name == "foto"))
        elif name == "kontak":
            phone = arg or DEFAULT_PHONE
            await self._send(contact=SharedContact(phone, self.persona.user_id))
        elif name == "stiker":
            await self._send(other="sticker")
        else:
            self._say(f"(perintah konsol tidak dikenal: :{name}; ketik :bantuan)")

    async def _press(self, number: int) -> None:
        chat_id = self.persona.chat_id
        message = self.messenger.latest_with_buttons(chat_id)
        if message is None:
            self._say("(tidak ada tombol di chat ini; ketik teksnya, atau :bantuan)")
            return
        if not 1 <= number <= len(message.buttons):
            self._say(f"(tidak ada tombol [{number}]; pilih 1-{len(message.buttons)})")
            return
        button = message.buttons[number - 1]
        self._say(f"(mengetuk: {button.label}) pada pesan: «{_first_line(message.text)}»")
        if button.url:
            self._say(f"(buka di browser: {button.url})")
            return
        await self._handle(self._incoming(button=button.data, message_id=message.id))

    async def _send(
        self,
        *,
        text: str | None = None,
        file: IncomingFile | None = None,
        contact: SharedContact | None = None,
        other: str | None = None,
    ) -> None:
        persona = self.persona
        replied = False
        question = self.messenger.force_reply.get(persona.chat_id)
        if persona.in_group:
            command = (text or "").startswith("/")
            replied = question is not None and not command
            if not replied and not command:
                self._say(
                    "(diabaikan: di grup bot hanya membaca perintah, tombol dan balasan atas "
                    "pertanyaannya)"
                )
                return
        own = self.messenger.keep(
            persona.chat_id, Shown(self.messenger.new_id(), text or "", from_bot=False)
        )
        incoming = self._incoming(
            text=text,
            file=file,
            contact=contact,
            other=other,
            message_id=own.id,
            replied_to_bot=replied,
            reply_to_message_id=question if replied else None,
        )
        response = await self._handle(incoming)
        if replied and text is not None and response is not None:
            refused = any(r.text.startswith("⚠️") for r in response.replies)
            if not refused:  # answered; a refused answer leaves the question open
                self.messenger.force_reply.pop(persona.chat_id, None)

    def _incoming(self, **fields: object) -> Incoming:
        persona = self.persona
        return Incoming(
            channel=CHANNEL,
            update_id=str(next(self._updates)),
            chat_id=persona.chat_id,
            user_id=persona.user_id,
            user_name=persona.user_name,
            in_group=persona.in_group,
            sender_is_admin=persona.is_admin,
            **fields,  # type: ignore[arg-type]
        )

    async def _handle(self, incoming: Incoming) -> Response | None:
        """As the Telegram adapter does: route, render the answer, then flush the outbox."""
        try:
            response = await self.router.handle(incoming)
            await self.render(incoming, response)
        except Exception:
            # Never log the update itself: it may hold a NIP or a password.
            log.exception("handling a console update failed")
            self._say(f"\n{RULE} ke {chat_name(incoming.chat_id)} {RULE}")
            self._say("Maaf, terjadi gangguan. Silakan coba lagi.")
            return None
        try:
            await self.sender.flush()
        except Exception:
            log.exception("flushing the outbox failed")
        return response

    async def render(self, incoming: Incoming, response: Response) -> None:
        if response.toast:
            kind = "peringatan" if response.alert else "notifikasi"
            self._say(f"({kind}) {t.plain(response.toast)}")
        for reply in response.replies:
            if reply.edit_message_id:
                await self.messenger.edit(incoming.chat_id, reply.edit_message_id, reply)
            else:
                await self.messenger.send(incoming.chat_id, reply)


def _button_lines(rows: tuple[tuple[Button, ...], ...], *, numbered: bool) -> list[str]:
    """Buttons row by row: "[1] Lengkap  [2] Tidak lengkap", or with "·" when not numbered."""
    number = itertools.count(1)
    lines = []
    for row in rows:
        cells = []
        for button in row:
            link = f" → {button.url}" if button.url else ""
            cells.append(f"{f'[{next(number)}]' if numbered else '·'} {button.label}{link}")
        lines.append("  " + "  ".join(cells))
    return lines


def _first_line(text: str, limit: int = 60) -> str:
    """What a message is, in a few words: its first line (HTML removed)."""
    line = next((part.strip() for part in t.plain(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _absolute(path: str) -> str:
    """Where a file is, so it can be opened from the terminal whatever the working dir."""
    return os.path.abspath(path)


def _existing_file(text: str, *, loose: bool = False) -> Path | None:
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


def _incoming_file(path: Path, *, photo: bool) -> IncomingFile:
    return IncomingFile(
        file_id=str(path), name=path.name, mime=None, size=path.stat().st_size, is_photo=photo
    )


class _LineReader:
    """Lines from stdin without blocking the event loop (the web app runs alongside)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._fd: int | None = None
        self._buffer = b""
        self._eof = False
        self._ready = asyncio.Event()
        try:
            fd = stream.fileno()
            asyncio.get_running_loop().add_reader(fd, self._ready.set)
        except (OSError, ValueError, NotImplementedError, io.UnsupportedOperation):
            return  # a StringIO, a regular file, or no selector support: read directly
        self._fd = fd

    async def readline(self) -> str | None:
        if self._fd is None:
            text = self._stream.readline()
            return text or None
        while b"\n" not in self._buffer and not self._eof:
            await self._ready.wait()
            self._ready.clear()
            # The reader callback may have fired before a read that took the data: check
            # again, as a blocking read here would stall the loop (and Ctrl-C with it).
            if not select.select([self._fd], [], [], 0)[0]:
                continue
            try:
                chunk = os.read(self._fd, 4096)
            except BlockingIOError:
                continue
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True
        if not self._buffer:
            return None
        line, sep, self._buffer = self._buffer.partition(b"\n")
        return (line + sep).decode(errors="replace")

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._fd)


class WakeAfterRequests:
    """The web app, waking the console after each request: what a page did (a form handed
    a result over, a link was opened) shows in the chats at once."""

    def __init__(self, app: ASGIApp, wake: Callable[[], None]) -> None:
        self._app = app
        self._wake = wake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self._wake()


def _banner(app: App, serve_web: bool) -> str:
    settings = app.settings
    lines = [
        f"Konsol {t.BOT_NAME}: alur SOP lengkap tanpa Telegram.",
        "Anda memerankan tiga chat: pemohon (Pemohon Uji), grup admin, dan chat pribadi "
        "admin (Admin Uji).",
    ]
    if serve_web:
        lines.append(
            f"Halaman link sekali pakai: {settings.public_url} "
            f"(server web di {settings.web_host}:{settings.web_port})."
        )
        public = urlsplit(settings.public_url)
        local = public.hostname in ("localhost", "127.0.0.1", "::1")
        port = public.port or (443 if public.scheme == "https" else 80)
        if local and port != settings.web_port:
            lines.append(
                f"⚠️ PUBLIC_URL memakai port {port}, tetapi server web di port "
                f"{settings.web_port}: link tidak akan terbuka. Setel "
                f"PUBLIC_URL=http://localhost:{settings.web_port}"
            )
    lines.append("Ketik /start untuk mulai sebagai pemohon, :bantuan untuk perintah konsol.")
    return "\n".join(lines) + "\n"


async def _serve(server: uvicorn.Server) -> None:
    """Serve the web app; a port already in use must not end the console."""
    try:
        await server.serve()
    except SystemExit:
        log.error("web app did not start; one-time links cannot be opened from this console")


def _echo(session: ConsoleSession, line: str) -> str:
    """How a line read from a script is echoed: text typed in the admin's private chat may be
    a password, so it is masked."""
    text = line.rstrip("\r\n")
    typed = text.strip()
    if (
        session.persona is ADMIN_PRIVATE
        and typed
        and not typed.startswith((":", "/"))
        and not _BUTTON_NUMBER.match(typed)
    ):
        return "••••••••"
    return text


async def run_console(
    app: App,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    serve_web: bool = True,
    session: ConsoleSession | None = None,
) -> None:
    """Chat with the bot in this terminal until EOF, :keluar or Ctrl-C.

    The web app (for one-time links) and the periodic jobs run alongside; what they make
    the bot say (a link opened in the browser, a reminder) prints as it comes, followed by
    the prompt again, while the console waits for a line. `session`: one already set up
    (tests).
    """
    source = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    session = session if session is not None else ConsoleSession(app)
    reader = _LineReader(source)
    echo = not source.isatty()
    # A typed line and what arrives meanwhile print one after the other, never mixed.
    screen = asyncio.Lock()

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    async def show_arrivals() -> None:
        while True:
            await session.arrived.wait()
            async with screen:
                session.arrived.clear()
                printed = await session.flush_outbox()
                if printed:
                    write(f"\n{printed}{session.prompt}")

    async def wake() -> None:
        session.wake()

    async def sweep() -> None:
        try:
            await session.jobs.deadlines()
        finally:
            session.wake()  # a reminder or an expired link shows at once

    # The banner says where the web app listens; uvicorn's start-up and access lines would
    # only interleave with the chats (errors still show).
    quiet = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn.access")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    server = web_server(app, session.messengers) if serve_web else None
    tasks = []
    if server is not None:
        web = cast(ASGIApp, server.config.app)  # the Starlette app web_server built
        server.config.app = WakeAfterRequests(web, session.wake)
        tasks.append(asyncio.create_task(_serve(server), name="web"))
    tasks += [
        asyncio.create_task(show_arrivals(), name="arrivals"),
        # Outbox rows a sweep (or anything else) queued are looked for now and then too.
        asyncio.create_task(every(OUTBOX_EVERY, wake, "outbox"), name="outbox"),
        asyncio.create_task(
            every(HOUSEKEEPING_EVERY, session.jobs.housekeeping, "housekeeping"),
            name="housekeeping",
        ),
        asyncio.create_task(every(DEADLINES_EVERY, sweep, "deadlines"), name="deadlines"),
    ]
    write(_banner(app, serve_web))
    try:
        while not session.finished:
            write(session.prompt)
            line = await reader.readline()
            if line is None:
                write("\n")
                break
            async with screen:
                if echo:
                    write(_echo(session, line) + "\n")
                printed = await session.feed(line)
                if session.messenger.input_deleted and not echo:
                    # The terminal echoed what was typed (a password): overwrite that line.
                    write(f"\x1b[1A\r\x1b[2K{session.prompt}••••••••\n")
                write(printed)
    finally:
        reader.close()
        if server is not None:
            server.should_exit = True
        for task in tasks:
            if task.get_name() != "web":
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
        write("Sampai jumpa.\n")
