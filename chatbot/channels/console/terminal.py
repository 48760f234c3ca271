"""The terminal around a console session: lines read without blocking the event loop (the
pipeline and the web app run meanwhile), the banner, and how a scripted line is echoed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import select
from typing import TextIO
from urllib.parse import urlsplit

from chatbot.channels.console.personas import ADMIN_PRIVATE, Persona
from chatbot.channels.console.session import BUTTON_NUMBER, ConsoleSession
from chatbot.conversations import texts as t
from chatbot.settings import Settings

MASKED = "••••••••"


class LineReader:
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


def banner(settings: Settings, serve_web: bool) -> str:
    lines = [
        f"Konsol {t.BOT_NAME}: alur SOP lengkap tanpa Telegram.",
        "Anda memerankan empat chat: pemohon (Pemohon Uji), pemohon di WhatsApp "
        "(:pemohon-wa, tampil seperti di WhatsApp), grup admin, dan chat pribadi admin "
        "(Admin Uji).",
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


def echo(persona: Persona, line: str) -> str:
    """How a line read from a script is echoed: text typed in the admin's private chat may be
    a password, so it is masked."""
    text = line.rstrip("\r\n")
    typed = text.strip()
    if (
        persona is ADMIN_PRIVATE
        and typed
        and not typed.startswith((":", "/"))
        and not BUTTON_NUMBER.match(typed)
    ):
        return MASKED
    return text


def overwrite_typed(prompt: str) -> str:
    """Overwrites the line the terminal echoed as it was typed (a password) with a mask."""
    return f"\x1b[1A\r\x1b[2K{prompt}{MASKED}\n"


class Screen:
    """The terminal a session talks to: a typed line and what arrives meanwhile (a link
    opened in the browser, a reminder) print one after the other, never mixed."""

    def __init__(self, session: ConsoleSession, out: TextIO) -> None:
        self._session = session
        self._out = out
        self._lock = asyncio.Lock()

    def write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    async def converse(self, reader: LineReader, *, echo_lines: bool) -> None:
        """Prompt, read a line, print what the bot did with it; until EOF or :keluar.
        `echo_lines`: the lines come from a script, not a terminal that shows them."""
        session = self._session
        while not session.finished:
            self.write(session.prompt)
            line = await reader.readline()
            if line is None:
                self.write("\n")
                return
            async with self._lock:
                if echo_lines:
                    self.write(echo(session.persona, line) + "\n")
                printed = await session.feed(line)
                if session.messenger.input_deleted and not echo_lines:
                    self.write(overwrite_typed(session.prompt))
                self.write(printed)

    async def show_arrivals(self) -> None:
        """Print what reached a chat while the console waits for a line, then the prompt
        again (runs until cancelled)."""
        session = self._session
        while True:
            await session.arrived.wait()
            async with self._lock:
                session.arrived.clear()
                printed = await session.flush_outbox()
                if printed:
                    self.write(f"\n{printed}{session.prompt}")
