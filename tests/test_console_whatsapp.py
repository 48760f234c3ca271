"""The console's WhatsApp requester (`:pemohon-wa`): the dialog as WhatsApp shows it, its
replies rendered by the WhatsApp channel's renderer, on the console's own pipeline."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from chatbot.app import App
from chatbot.channels.console import REQUESTER_WA, WA_CHANNEL
from chatbot.channels.console.terminal import banner
from chatbot.channels.whatsapp.render import render
from chatbot.conversations.messages import Button, OutgoingFile, Reply
from chatbot.services.credentials import key_hash, open_sealed, unb64url
from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests import test_console
from tests.factories import NIP
from tests.test_console import PASSWORD, URL, Consoles, Transcript, sections

# The console tests' fixtures: the app on the test database, consoles on its pipeline.
app = test_console.app
consoles = test_console.consoles
documents = test_console.documents

WA_CHAT = "pemohon (WhatsApp)"


async def test_a_whatsapp_requester_walks_the_sop_in_the_console(
    consoles: Consoles, app: App, documents: tuple[Path, Path]
) -> None:
    letter, sk = documents
    say = Transcript(await consoles())
    assert "Pemohon WA" in await say(":pemohon-wa")
    assert say.session.prompt == "[pemohon-wa] > "

    # The menu as WhatsApp shows it: *bold* markup, three reply buttons to type.
    out = await say("/start")
    assert f"── ke {WA_CHAT} ──" in out
    assert "*Layanan Reset Password SPSE*" in out
    assert "<b>" not in out
    assert "  [1] 📝 Ajukan permohonan\n  [2] 🔎 Cek status\n  [3] ❓ Bantuan" in out
    out = await say.tap(out, "📝 Ajukan permohonan")
    out = await say.tap(out, "Reset password")
    out = await say.tap(out, "PPK")
    out = await say("Budi Santoso")
    out = await say(NIP)
    out = await say("Dinas Pekerjaan Umum")
    out = await say.tap(out, "Lewati")
    assert "Langkah 7/9" in out
    # The number that writes is the verified phone: the phone step is left out, and the
    # steps are numbered as the requester goes through them.
    out = await say("budi@magelangkota.go.id")
    assert "nomor HP" not in out
    assert "Langkah 8/9" in out
    out = await say(f":file {letter}")
    out = await say.tap(out, "✅ Selesai")
    out = await say(f":foto {sk}")
    out = await say.tap(out, "✅ Selesai")
    assert "HP: +6281200002002 (terverifikasi)" in out

    # "Ubah data" has more than three choices: a list behind its "Pilih" button, no phone.
    out = await say.tap(out, "✏️ Ubah data")
    assert "  ☰ Pilih\n    [1] Jenis permohonan" in out
    assert "HP" not in out.split("☰ Pilih")[1]
    out = await say.tap(out, "Nama")
    assert "Langkah 3/9" in out
    out = await say("Budi Santoso Wibowo")
    assert "Nama: Budi Santoso Wibowo" in out
    out = await say.tap(out, "✅ Kirim permohonan")
    found = re.search(r"nomor tiket \*([\w-]+)\*\.", out)  # bold, as WhatsApp shows it
    assert found is not None
    number = found.group(1)

    # The admins see the card in their group, the requester's channel named.
    card = sections(out, "grup admin")[-1]
    assert f"Tiket {number}" in card
    assert "· via WhatsApp (konsol)" in card
    ticket = await app.services.tickets.find_by_number(number)
    assert ticket is not None
    assert ticket.requester.channel == WA_CHANNEL

    # The admins check and hand over the password; the link reaches WhatsApp as a CTA button.
    await say(":grup")
    out = await say.tap(card, "✅ Lengkap")
    out = await say.tap(out, "✅ Valid")
    out = await say.tap(out, "🔑 Kirim hasil")
    await say(":admin")
    out = await say(PASSWORD)
    (to_requester,) = sections(out, WA_CHAT)
    link = URL.search(to_requester)
    assert link is not None
    assert f"  🔗 🔐 Buka hasil → {link.group(0)} (buka di browser)" in to_requester
    assert to_requester.count(link.group(0)) == 1  # on the button, not in the text
    url = urlsplit(link.group(0))
    key = unb64url(url.fragment)
    sealed = await app.services.vault.reveal(url.path.removeprefix("/s/"), key_hash(key))
    assert open_sealed(sealed, key) == {"password": PASSWORD}
    ticket = await app.services.tickets.find_by_number(number)
    assert ticket is not None
    assert ticket.state == TicketState.DELIVERED
    assert PASSWORD not in say.all


def printed_bodies(output: str) -> list[str]:
    """The text of each message printed to the WhatsApp chat, without its choices."""
    parts = re.split(r"\n── ke ([^─]+?) ──\n", output)
    messages = [parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i] == WA_CHAT]
    return [re.split(r"\n  (?:\[\d+\]|☰|🔗|·) ", m)[0].strip() for m in messages]


async def test_every_message_to_the_whatsapp_requester_is_rendered_within_whatsapps_limits(
    consoles: Consoles, documents: tuple[Path, Path]
) -> None:
    session = await consoles()
    messenger, chat = session.wa_messenger, REQUESTER_WA.chat_id
    long_label = "Dinas Perumahan dan Kawasan Permukiman"
    reply = Reply(
        "Pilih <b>unit kerja</b> &amp; lanjutkan:",
        tuple(
            (Button(label, data=f"unit:{i}"),)
            for i, label in enumerate([long_label, "Bagian Umum", "Bappeda", "Dinas Kesehatan"])
        ),
    )
    await messenger.send(chat, reply)
    out = await session.flush_outbox()
    # What render.py made of it, printed: a list (four choices), the long title shortened
    # with an ellipsis and whole as the row's description.
    assert printed_bodies(out) == [m.payload["body"]["text"] for m in render(reply)]
    assert "Pilih *unit kerja* & lanjutkan:" in out
    assert "    [1] Dinas Perumahan dan Kaw…\n        " + long_label in out
    assert "    [4] Dinas Kesehatan" in out

    # A tap answers with the row's id, as WhatsApp sends it back.
    shown = session.messenger.latest_with_buttons(chat)
    assert shown is not None
    first = shown.buttons[0]
    assert (first.label, first.data) == ("Dinas Perumahan dan Kaw…", "unit:0")

    # A body too long for an interactive message goes first as text, the buttons after.
    long = Reply("Kata " * 300, ((Button("Ya", data="ya"), Button("Tidak", data="tidak")),))
    await messenger.send(chat, long)
    out = await session.flush_outbox()
    assert printed_bodies(out) == [
        m.payload["body"] if m.kind == "text" else m.payload["body"]["text"] for m in render(long)
    ]
    assert printed_bodies(out)[1] == "Silakan pilih:"
    assert "  [1] Ya\n  [2] Tidak" in out

    # Twelve choices are two lists (ten rows at most); one reply, numbered on.
    many = Reply("Pilih:", tuple((Button(f"Pilihan {i}", data=f"p:{i}"),) for i in range(12)))
    await messenger.send(chat, many)
    out = await session.flush_outbox()
    assert printed_bodies(out) == ["Pilih:", "Pilihan lainnya:"]
    assert "    [1] Pilihan 0" in out
    assert "    [11] Pilihan 10" in out
    assert "tanpa nomor" not in out
    shown = session.messenger.latest_with_buttons(chat)
    assert shown is not None
    assert shown.buttons[10].data == "p:10"

    # WhatsApp cannot edit or delete: an edit is sent anew, a delete shows nothing.
    await messenger.edit(chat, "123", Reply("Versi baru"))
    await messenger.delete(chat, "123")
    out = await session.flush_outbox()
    assert printed_bodies(out) == ["Versi baru"]
    assert "(diubah)" not in out
    assert "dihapus" not in out

    # Files: a picture meant to be seen as a photo, anything else a document (caption kept).
    letter, sk = documents
    await messenger.send_files(
        chat,
        [
            OutgoingFile(str(letter), "letter.pdf", caption="Surat"),
            OutgoingFile(str(sk), "sk.png", photo=True),
        ],
    )
    out = await session.flush_outbox()
    assert "📄 dokumen letter.pdf — Surat\n" in out
    assert "🖼️ foto sk.png\n" in out


async def test_the_console_says_how_to_play_the_whatsapp_requester(
    consoles: Consoles, settings: Settings
) -> None:
    say = Transcript(await consoles())
    assert ":pemohon-wa" in await say(":bantuan")
    assert ":pemohon-wa" in banner(settings, serve_web=False)
    # The Telegram-like requester is unchanged by it, and the chats are kept apart.
    out = await say("/start")
    assert "── ke pemohon ──" in out
    assert "Selamat datang di Layanan Reset Password SPSE" in out  # no WhatsApp markup
    assert "[2] 🔎 Cek status  [3] ❓ Bantuan" in out  # Telegram's rows of buttons
    await say(":pemohon-wa")
    assert "tidak ada tombol di chat ini" in await say("1")
