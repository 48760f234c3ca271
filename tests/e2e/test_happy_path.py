"""Both request types end to end: intake, the group's decisions, the private hand-over, the
one-time link, and the archive."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chatbot.services.enums import TicketState
from tests.e2e.harness import ADMIN, GROUP, LINK, NIP, REQUESTER, Harness

PASSWORD = "Rahasia#2026baru"


async def test_reset_password_from_start_to_archive(bot: Harness) -> None:
    number = await bot.submit_request(kind="Reset password")

    # The group got the documents and one card with the summary and the first buttons.
    card = bot.card()
    assert f"Tiket {number}" in card.content
    assert "Budi Santoso" in card.content and "19850312 201001 1 004" in card.content
    assert "HP: +6281234567890 ✅" in card.content
    assert card.buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]
    documents = [m for m in bot.fake.chat_messages(GROUP) if m.document]
    assert len(documents) == 3

    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=card)
    assert "menunggu cek keabsahan" in bot.card().content.lower()
    assert bot.card().message_id == card.message_id  # edited in place
    await bot.press(ADMIN, "Valid", chat=GROUP, message=bot.card())
    answer = await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    assert "chat pribadi" in answer["text"]
    assert "Hasil sedang diisi oleh Sari" in bot.card().content
    assert f"Tiket {number}" in bot.texts(ADMIN)[-3]
    # The safe way first: a single-use form link on a button; typing here is the fallback.
    offer = bot.fake.chat_messages(ADMIN)[-2]
    assert offer.buttons() == ["📝 Buka formulir hasil"]
    assert offer.inline_keyboard[0][0]["url"].startswith("https://bot.example.go.id/f/")

    typed = await bot.say(ADMIN, PASSWORD)
    assert typed.deleted is False  # the bot's confirmation, not the admin's message
    password_messages = [m for m in bot.fake.user_messages(ADMIN) if m.text == PASSWORD]
    assert password_messages and all(m.deleted for m in password_messages)
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    assert PASSWORD not in "".join(bot.texts(ADMIN))

    # The requester gets a one-time link, protected, with no preview, and no password.
    link_message = bot.last(REQUESTER)
    assert link_message.protect_content and link_message.link_preview_disabled
    assert PASSWORD not in link_message.content
    assert "ganti password" in link_message.content
    _url, link_id, key = bot.link_in(REQUESTER)
    assert "link hasil dikirim" in bot.card().content.lower()
    assert "Link: terkirim" in bot.card().content
    assert link_id not in bot.card().content and key not in bot.card().content
    assert bot.card().buttons() == ["🚫 Batalkan link"]

    # Opening the page (as a link preview would) does not burn it.
    for _ in range(5):
        page = await bot.web.get(f"/s/{link_id}")
        assert page.status_code == 200
        assert PASSWORD not in page.text

    revealed = await bot.reveal(link_id, key)
    assert revealed.status_code == 200
    assert bot.decrypt(revealed, key) == {"password": PASSWORD}
    again = await bot.reveal(link_id, key)
    assert again.status_code == 410
    assert "sudah dibuka" in (await bot.web.get(f"/s/{link_id}")).text

    # Step 8's output: the requester gets a receipt, the group sees the link was opened.
    receipt = bot.last(REQUESTER)
    assert re.search(r"dibuka \d+ \w+ \d{4} pukul \d\d\.\d\d WIB", receipt.content)
    assert receipt.buttons() == ["✅ Sudah login", "🚨 Bukan saya"]
    assert "Link: dibuka" in bot.card().content
    assert "menunggu konfirmasi login" in bot.card().content.lower()
    await bot.press(REQUESTER, "Sudah login", message=receipt)
    assert "selesai dan diarsipkan" in bot.last(REQUESTER).content

    # Step 9 archived: the ticket, its files and the manifest.
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.ARCHIVED
    archive = Path(bot.settings.storage_dir) / str(ticket.archive_path)
    manifest = json.loads((archive / "manifest.json").read_text())
    assert [s["step"] for s in manifest["steps"]] == [1, 2, 5, 6, 8, 9]
    assert manifest["requester"]["nip"] == NIP
    assert len(list((archive / "documents").iterdir())) == 3
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"])
    await bot.pipeline.sender.flush()
    assert "diarsipkan" in bot.card().content.lower()
    assert "Pemohon sudah login" in bot.card().content
    assert bot.card().buttons() == []

    # The status shows the end.
    status = await bot.say(REQUESTER, "/status")
    assert number in status.content and "diarsipkan" in status.content.lower()


async def test_user_id_information_asks_the_admin_for_the_user_id_only(bot: Harness) -> None:
    await bot.submit_request(kind="Informasi user ID")
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    assert "user ID SPSE" in bot.last(ADMIN).content
    done = await bot.say(ADMIN, "budi.pu.2020")
    assert "dikirim ke pemohon" in done.content
    _, link_id, key = bot.link_in(REQUESTER)
    revealed = await bot.reveal(link_id, key)
    assert bot.decrypt(revealed, key) == {"user_id": "budi.pu.2020"}


async def test_a_password_that_starts_with_a_slash_is_still_a_password(bot: Harness) -> None:
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, "/Mulai2026x")
    typed = [m for m in bot.fake.user_messages(ADMIN) if m.text == "/Mulai2026x"]
    assert typed and all(m.deleted for m in typed)
    _, link_id, key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(link_id, key), key) == {"password": "/Mulai2026x"}


async def test_kirim_hasil_tapped_again_midway_keeps_what_the_admin_typed(bot: Harness) -> None:
    await bot.submit_request(kind="Reset + info user ID")
    await bot.approve_to_valid()
    card = bot.card()
    kirim = card.button("Kirim hasil")
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=card)
    await bot.say(ADMIN, "budi.pu.2020")  # the user ID; the bot now asks for the password
    # The same tap comes again (a retry after a crash, or an impatient admin).
    bot.fake.press_button(ADMIN, card, kirim, stale=True)
    await bot.settle()
    await bot.say(ADMIN, PASSWORD)

    typed = [m for m in bot.fake.user_messages(ADMIN) if m.text == PASSWORD]
    assert typed and all(m.deleted for m in typed)  # still taken as the password
    _, link_id, key = bot.link_in(REQUESTER)
    revealed = bot.decrypt(await bot.reveal(link_id, key), key)
    assert revealed == {"user_id": "budi.pu.2020", "password": PASSWORD}


async def test_a_user_id_or_password_typed_with_invisible_characters_is_asked_again(
    bot: Harness,
) -> None:
    await bot.submit_request(kind="Reset + info user ID")
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    asked = await bot.say(ADMIN, "budi\u200b.pu.2020")  # a zero-width space from a paste
    assert "karakter tak terlihat" in bot.texts(ADMIN)[-2]
    assert "user ID SPSE" in asked.content
    await bot.say(ADMIN, "budi.pu.2020")
    refused = await bot.say(ADMIN, "Mulai\u202e2026x")
    assert "karakter tak terlihat" in refused.content
    assert not any(LINK.search(text) for text in bot.texts(REQUESTER))  # nothing handed over
    await bot.say(ADMIN, PASSWORD)
    _, link_id, key = bot.link_in(REQUESTER)
    revealed = bot.decrypt(await bot.reveal(link_id, key), key)
    assert revealed == {"user_id": "budi.pu.2020", "password": PASSWORD}
