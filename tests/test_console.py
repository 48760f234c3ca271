"""The console channel: the whole SOP typed in a terminal, on the real dialogs and services."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import chatbot.pipeline.periodic as periodic
from chatbot.app import App, ConsoleBot, console_bot, create_app
from chatbot.channels.console import CHANNEL, GROUP, REQUESTER, ConsoleSession
from chatbot.conversations.messages import Button, Reply
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.state import DialogStates
from chatbot.conversations.texts import plain
from chatbot.runner import WakeAfterRequests, run_console
from chatbot.services.credentials import CredentialVault, key_hash, open_sealed, unb64url
from chatbot.services.enums import TicketState
from chatbot.services.forms import AdminForms
from chatbot.settings import Settings
from chatbot.store import Store
from chatbot.web.app import create_web_app
from tests.factories import ADMIN, NIP, pdf_bytes, png_bytes, submitted_ticket

PASSWORD = "Spse#2026-rahasia"
URL = re.compile(r"https://bot\.example\.go\.id/s/\S+#\S+")


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine, store: Store) -> AsyncIterator[App]:
    """The real composition root; `engine` resets PostgreSQL first when tests run on it."""
    app = await create_app(settings)
    if not os.environ.get("TEST_REDIS_URL"):
        yield app
        await app.close()
        return
    # A shared Redis keeps dialog and card keys between runs: use the test's own prefix.
    await app.store.close()
    services = replace(
        app.services,
        store=store,
        dialogs=DialogStates(store),
        vault=CredentialVault(store, settings.public_url, settings.credential_link_ttl),
        forms=AdminForms(store, settings.public_url, settings.admin_form_ttl),
    )
    yield replace(app, store=store, services=services)
    await app.engine.dispose()


Consoles = Callable[[], Awaitable[ConsoleSession]]


@pytest.fixture
async def consoles(app: App) -> AsyncIterator[Consoles]:
    """Starts a console session on its own pipeline with its inbox worker running (no
    periodic jobs: a transcript shows only what its lines caused). Starting another is a
    restart: the one before stops first."""
    running: list[tuple[ConsoleBot, asyncio.Event, asyncio.Task[None]]] = []

    async def stop_all() -> None:
        for bot, stop, worker in running:
            stop.set()
            await worker
            await bot.pipeline.sender.idle()
        running.clear()

    async def start() -> ConsoleSession:
        await stop_all()
        bot, stop = console_bot(app), asyncio.Event()
        running.append((bot, stop, asyncio.create_task(bot.pipeline.worker.run(stop))))
        return bot.session

    yield start
    await stop_all()


@pytest.fixture
def documents(tmp_path: Path) -> tuple[Path, Path]:
    letter, sk = tmp_path / "letter.pdf", tmp_path / "sk.png"
    letter.write_bytes(pdf_bytes())
    sk.write_bytes(png_bytes())
    return letter, sk


def button(output: str, label: str) -> str:
    """The number the console printed for a button, as a person would read it."""
    found: list[str] = re.findall(
        r"\[(\d+)\] " + re.escape(label) + r"(?=  |$)", output, re.MULTILINE
    )
    assert found, f"no button {label!r} in:\n{output}"
    return found[-1]


def sections(output: str, chat: str) -> list[str]:
    """The messages printed under the header of one chat."""
    parts = re.split(r"\n── ke ([^─]+?) ──\n", output)
    return [parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i].startswith(chat)]


class Transcript:
    """Feeds lines and keeps everything printed, to check nothing leaked anywhere."""

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.all = ""

    async def __call__(self, line: str) -> str:
        output = await self.session.feed(line)
        self.all += output
        return output

    async def tap(self, output: str, label: str) -> str:
        pressed = await self(button(output, label))
        assert f"(mengetuk: {label})" in pressed
        return pressed


async def test_plain_strips_tags_and_unescapes() -> None:
    assert plain("<b>Tiket</b> &lt;3 &amp; <code>1</code>") == "Tiket <3 & 1"


async def test_whole_sop_in_the_console(
    consoles: Consoles, app: App, documents: tuple[Path, Path]
) -> None:
    letter, sk = documents
    say = Transcript(await consoles())
    assert say.session.prompt == "[pemohon] > "

    # The requester fills in the request.
    out = await say("/start")
    assert "── ke pemohon ──" in out
    assert "Selamat datang" in out
    assert "<b>" not in out
    out = await say.tap(out, "📝 Ajukan permohonan")
    assert "Langkah 1/10" in out
    out = await say.tap(out, "Reset password")
    out = await say.tap(out, "PPK")
    assert "Langkah 3/10" in out
    out = await say("Budi Santoso")
    assert "Langkah 4/10" in out
    out = await say("12345")
    assert "⚠️ NIP harus 18 angka; yang Anda kirim 5 angka." in out
    assert "Langkah 4/10" in out
    out = await say(NIP)
    assert "Langkah 5/10" in out
    out = await say("Dinas Pekerjaan Umum")
    out = await say.tap(out, "Lewati")
    assert "Langkah 7/10" in out
    out = await say("budi@magelangkota.go.id")
    assert "💡 ketik :kontak untuk membagikan nomor" in out
    out = await say(":kontak")
    assert "Langkah 9/10" in out
    out = await say(f":file {letter}")
    assert "Surat permohonan: 1 file diterima" in out
    out = await say.tap(out, "✅ Selesai")
    assert "Langkah 10/10" in out
    out = await say(f":foto {sk}")
    assert "SK: 1 file diterima" in out
    out = await say.tap(out, "✅ Selesai")
    assert "HP: +6281200001001 (terverifikasi)" in out
    assert "User ID SPSE: (tidak diisi)" in out
    out = await say.tap(out, "✅ Kirim permohonan")
    assert "Permohonan diterima dengan nomor tiket" in out
    ticket_number = re.search(r"nomor tiket (\S+)\.", out)
    assert ticket_number is not None
    number = ticket_number.group(1)

    # The outbox brought the documents and the ticket card to the admin group.
    group = sections(out, "grup admin")
    assert len(group) == 2
    assert f"📎 {number}-letter-1.pdf" in group[0]
    assert f"📎 {number}-sk-1.png" in group[0]
    assert f"Tiket {number}" in group[1]
    assert "[1] ✅ Lengkap  [2] ⚠️ Tidak lengkap" in group[1]

    # An admin checks it in the group.
    out = await say(":grup")
    assert say.session.prompt == "[grup admin] > "
    assert "(diabaikan" in await say("siap, saya cek")
    out = await say.tap(group[1], "✅ Lengkap")
    assert "(notifikasi) Ditandai lengkap." in out
    assert "── ke grup admin (diubah) ──" in out
    out = await say.tap(out, "✅ Valid")
    assert "(notifikasi) Ditandai valid." in out
    out = await say.tap(out, "🔑 Kirim hasil")
    assert "(notifikasi) Lanjutkan di chat pribadi dengan bot." in out
    private = sections(out, "admin (pribadi)")
    assert any(f"Tiket {number}" in m and NIP[:8] in m for m in private)
    assert "Ketik password baru" in private[-1]

    # ... and hands over the new password in private.
    await say(":admin")
    assert say.session.prompt == "[admin pribadi] > "
    out = await say(PASSWORD)
    assert "(pesan berisi password dihapus)" in out
    assert say.session.messenger.input_deleted  # run_console then overwrites the typed line
    assert f"✅ Hasil tiket {number} dikirim ke pemohon" in sections(out, "admin (pribadi)")[0]
    (to_requester,) = sections(out, "pemohon")
    link = URL.search(to_requester)
    assert link is not None

    # The requester's chat holds the one-time link; it opens the right password.
    await say(":pemohon")
    assert say.session.prompt == "[pemohon] > "
    shown = say.session.messenger.chats["1001"]
    assert any(link.group(0) in m.text for m in shown.values())
    url = urlsplit(link.group(0))
    link_id = url.path.removeprefix("/s/")
    key = unb64url(url.fragment)
    sealed = await app.services.vault.reveal(link_id, key_hash(key))
    assert open_sealed(sealed, key) == {"password": PASSWORD}
    ticket = await app.services.tickets.find_by_number(number)
    assert ticket is not None
    assert ticket.state == TicketState.DELIVERED

    # The bot never repeated the password, and the console forgot the deleted message.
    assert PASSWORD not in say.all
    chats = say.session.messenger.chats.values()
    assert all(PASSWORD not in m.text for chat in chats for m in chat.values())


async def test_a_note_is_a_reply_to_the_bots_question_in_the_group(
    consoles: Consoles, documents: tuple[Path, Path]
) -> None:
    letter, sk = documents
    say = Transcript(await consoles())
    out = await say("/ajukan")
    out = await say.tap(out, "Informasi user ID")
    out = await say.tap(out, "PP")
    for line in (
        "Sri Wahyuni",
        NIP,
        "Bagian Umum",
        "sri.pp",
        "sri@magelangkota.go.id",
        "0812 3456 7890",
        str(letter),  # a typed path is a file too
    ):
        out = await say(line)
    out = await say.tap(out, "✅ Selesai")
    out = await say(f":file {sk}")
    out = await say.tap(out, "✅ Selesai")
    assert "HP: +6281234567890 (belum terverifikasi)" in out
    out = await say.tap(out, "✅ Kirim permohonan")
    card = sections(out, "grup admin")[-1]

    await say(":grup")
    out = await say.tap(card, "⚠️ Tidak lengkap")
    assert "(notifikasi) Pilih yang kurang" in out
    out = await say.tap(out, "⬜ SK pengangkatan")
    assert "☑️ SK pengangkatan" in out
    out = await say.tap(out, "✏️ Tambah catatan")
    assert "↩️ baris berikutnya yang Anda ketik di grup" in out
    out = await say("ok")  # too short: refused, the question stays open
    assert "⚠️" in out
    out = await say("SK yang dikirim sudah kedaluwarsa")
    assert "Catatan disimpan" in out
    assert "Catatan: SK yang dikirim sudah kedaluwarsa" in out  # the card, edited
    assert "(diabaikan" in await say("terima kasih")  # answered: group talk again
    out = await say.tap(out, "📨 Kirim ke pemohon")
    assert "(notifikasi) Pemohon diminta melengkapi." in out
    (notice,) = sections(out, "pemohon")
    assert "belum lengkap" in notice
    assert "SK pengangkatan" in notice
    assert "[1] 📎 Lengkapi" in notice


async def test_unsupported_input_gets_a_hint(consoles: Consoles) -> None:
    say = Transcript(await consoles())
    out = await say("/ajukan")
    out = await say.tap(out, "Reset password")
    out = await say.tap(out, "PPK")
    out = await say(":stiker")
    assert "Di langkah ini ketik jawabannya sebagai teks." in out
    assert "Langkah 3/10" in out
    assert "tidak ada tombol [7]" in await say("7")
    shown = await say(":lihat")
    assert "── pesan terakhir bertombol di pemohon ──" in shown
    assert "[1] PPK" in shown
    assert "perintah konsol tidak dikenal" in await say(":terbang")
    assert "file tidak ditemukan" in await say(":file /tidak/ada.pdf")


async def test_run_console_reads_a_script_and_stops_at_keluar(app: App) -> None:
    stdin = io.StringIO(":bantuan\n/start\n:admin\nrahasia-sekali-2026\n:keluar\n/status\n")
    stdout = io.StringIO()
    await run_console(app, stdin=stdin, stdout=stdout, serve_web=False)
    printed = stdout.getvalue()
    assert "Perintah konsol:" in printed
    assert "[pemohon] > /start" in printed
    assert "Selamat datang" in printed
    assert "[admin pribadi] > " in printed
    assert "rahasia-sekali-2026" not in printed  # a script's admin lines are echoed masked
    assert printed.endswith("Sampai jumpa.\n")
    assert "> /status" not in printed  # nothing is read after :keluar


async def test_run_console_stops_at_end_of_input(app: App) -> None:
    stdout = io.StringIO()
    await run_console(app, stdin=io.StringIO("/status\n"), stdout=stdout, serve_web=False)
    printed = stdout.getvalue()
    assert "Anda belum punya tiket" in printed
    assert printed.endswith("Sampai jumpa.\n")


async def test_the_admin_commands_work_in_the_console_group(consoles: Consoles) -> None:
    say = Transcript(await consoles())
    await say(":grup")

    assert "Tidak ada tiket terbuka" in await say("/antrian")
    out = await say("/laporan 2026-11")

    assert "Permohonan: 0" in out
    paths = re.findall(r"📎 laporan-2026-11\.(?:png|pdf)[^\n]*\n\s+(\S+)", out)
    assert len(paths) == 2
    # What the group "received" stays readable, though the bot drops its own copy once sent.
    chart, pdf = read_files(paths)
    assert chart.startswith(b"\x89PNG") and pdf.startswith(b"%PDF")


def read_files(paths: list[str]) -> list[bytes]:
    return [Path(p).read_bytes() for p in paths]


async def test_after_a_restart_the_queue_brings_a_card_back_to_act_on(
    consoles: Consoles, app: App, documents: tuple[Path, Path]
) -> None:
    letter, sk = documents
    say = Transcript(await consoles())
    out = await say("/ajukan")
    out = await say.tap(out, "Reset password")
    out = await say.tap(out, "PPK")
    for line in ("Sri Wahyuni", NIP, "Bagian Umum"):
        out = await say(line)
    out = await say.tap(out, "Lewati")
    for line in ("sri@magelangkota.go.id", "0812 3456 7890", str(letter)):
        out = await say(line)
    out = await say.tap(out, "✅ Selesai")
    out = await say(f":file {sk}")
    out = await say.tap(out, "✅ Selesai")
    out = await say.tap(out, "✅ Kirim permohonan")
    found = re.search(r"nomor tiket (\S+)\.", out)
    assert found is not None
    number = found.group(1)

    # A new console session: the card printed before has no buttons to press any more.
    say = Transcript(await consoles())
    await say(":grup")
    assert "tidak ada tombol di chat ini" in await say("1")
    out = await say("/antrian")
    out = await say.tap(out, f"🎫 {number}")
    assert f"(notifikasi) Kartu tiket {number} dikirim ulang di bawah." in out
    out = await say.tap(out, "✅ Lengkap")
    assert "(notifikasi) Ditandai lengkap." in out
    assert "── ke grup admin (diubah) ──" in out
    ticket = await app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.COMPLETE


class Screen(io.StringIO):
    """The terminal: what was written so far, and a way to wait until some text shows."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def write(self, text: str) -> int:
        self._changed.set()
        return super().write(text)

    async def shows(self, text: str) -> str:
        """Wait until `text` was written (the timeout only guards against a hang)."""
        async with asyncio.timeout(20):
            while text not in self.getvalue():
                self._changed.clear()
                await self._changed.wait()
        return self.getvalue()


class Keyboard:
    """Stdin as a terminal gives it: nothing arrives until a line is typed."""

    def __init__(self) -> None:
        read, self._write = os.pipe()
        self.stream = os.fdopen(read, "r")

    def type(self, line: str) -> None:
        os.write(self._write, line.encode() + b"\n")

    def close(self) -> None:
        os.close(self._write)


@pytest.fixture
async def waiting_console(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ConsoleSession, Screen]]:
    """run_console waiting for a line; the periodic outbox look runs at start only, so what
    shows later was printed because it arrived, not because a timer came round."""
    monkeypatch.setattr(periodic, "OUTBOX_EVERY", timedelta(hours=1))
    bot, screen, keyboard = console_bot(app), Screen(), Keyboard()
    session = bot.session
    running = asyncio.create_task(
        run_console(app, stdin=keyboard.stream, stdout=screen, serve_web=False, bot=bot)
    )
    await screen.shows("[pemohon] > ")
    # Once this shows, the look at start is over (it may have been what printed this).
    await session.messenger.send(GROUP.chat_id, Reply("Selamat bertugas"))
    await screen.shows("Selamat bertugas")
    yield session, screen
    keyboard.type(":keluar")
    await running
    keyboard.close()
    keyboard.stream.close()


async def test_a_message_sent_from_the_browser_prints_without_waiting_for_enter(
    waiting_console: tuple[ConsoleSession, Screen],
) -> None:
    session, screen = waiting_console
    # What the admin's hand-over form does when submitted: a message straight to a chat.
    await session.messenger.send(REQUESTER.chat_id, Reply("🔐 Hasil tiket 2611-0001 siap dibuka"))
    shown = await screen.shows("🔐 Hasil tiket 2611-0001 siap dibuka")
    assert shown.endswith("── ke pemohon ──\n🔐 Hasil tiket 2611-0001 siap dibuka\n[pemohon] > ")


async def test_a_link_opened_in_the_browser_prints_the_receipt_without_waiting_for_enter(
    app: App, waiting_console: tuple[ConsoleSession, Screen]
) -> None:
    session, screen = waiting_console
    services = app.services
    admin = ADMIN
    ticket = await submitted_ticket(
        services.tickets, services.files, chat_id=REQUESTER.chat_id, channel=CHANNEL
    )
    for move in (services.tickets.mark_complete, services.tickets.mark_valid):
        ticket = await move(ticket_id=ticket.id, version=ticket.version, actor=admin)
    ticket = await services.tickets.claim_result(
        ticket_id=ticket.id, version=ticket.version, actor=admin
    )
    assert ticket.number is not None
    issued = await services.vault.issue(ticket_number=ticket.number, secret={"password": "x"})
    await services.tickets.deliver_result(
        ticket_id=ticket.id, version=ticket.version, actor=admin,
        link_hash=issued.link_hash, expires_at=issued.expires_at,
    )  # fmt: skip
    url = urlsplit(issued.url)
    key_hash = hashlib.sha256(unb64url(url.fragment)).digest()[:16].hex()

    # The requester opens the link in the browser: the console's web app answers.
    messengers = Messengers({CHANNEL: session.messenger}, CHANNEL, lambda: GROUP.chat_id)
    web = WakeAfterRequests(create_web_app(services, messengers=messengers), session.wake)
    origin = "https://bot.example.go.id"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=origin) as c:
        opened = await c.post(
            f"{url.path}/reveal", json={"key_hash": key_hash}, headers={"Origin": origin}
        )
    assert opened.status_code == 200

    shown = await screen.shows(f"Hasil tiket {ticket.number} dibuka ")
    assert shown.endswith("[pemohon] > ")


async def test_numbers_press_the_buttons_printed_last_and_the_tap_says_whose(
    consoles: Consoles,
) -> None:
    """A late question sent before the card's edit reaches the console: the card is printed
    below the question, and a typed number must press the card's button, the one in view."""
    say = Transcript(await consoles())
    messenger = say.session.messenger
    await say(":grup")
    card = await messenger.send(
        GROUP.chat_id,
        Reply(
            "Tiket 2611-0001",
            buttons=((Button("✅ Lengkap", "x|1"), Button("⚠️ Tidak lengkap", "x|2")),),
        ),
    )
    await messenger.send(
        GROUP.chat_id,
        Reply(
            "⏰ Langkah 2 tiket 2611-0001 melewati standar. Apa sebabnya?",
            buttons=(
                (Button("Server SPSE gangguan", "y|1"),),
                (Button("Alasan lain (ketik)", "y|2"),),
            ),
        ),
    )
    await messenger.edit(
        GROUP.chat_id,
        card,
        Reply(
            "Tiket 2611-0001 ✅ lengkap",
            buttons=((Button("✅ Valid", "x|3"), Button("❌ Tidak valid", "x|4")),),
        ),
    )
    printed = await say.session.flush_outbox()

    question, edited = sections(printed, "grup admin")[1:]
    assert "[1]" not in question and "· Server SPSE gangguan" in question
    assert "angka memilih tombol pesan terbaru di bawah" in question
    assert "[1] ✅ Valid  [2] ❌ Tidak valid" in edited
    tapped = await say("1")
    assert "(mengetuk: ✅ Valid) pada pesan: «Tiket 2611-0001 ✅ lengkap»" in tapped
    assert "[1] ✅ Valid" in await say(":lihat")
