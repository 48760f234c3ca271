"""The requester's chat: bad input at every kind of step, status, cancel, restarts, duplicates."""

from __future__ import annotations

from chatbot.services.enums import TicketState
from tests.e2e.harness import ADMIN, GROUP, OTHER_REQUESTER, REQUESTER, Harness
from tests.factories import png_bytes


async def _to_step(bot: Harness, step: str) -> None:
    await bot.say(REQUESTER, "/start")
    await bot.press(REQUESTER, "Ajukan permohonan")
    await bot.press(REQUESTER, "Reset password")
    await bot.press(REQUESTER, "PPK")
    if step == "name":
        return
    await bot.say(REQUESTER, "Budi Santoso")
    if step == "nip":
        return
    await bot.say(REQUESTER, "198503122010011004")
    await bot.say(REQUESTER, "Dinas PU")
    await bot.press(REQUESTER, "Lewati")
    await bot.say(REQUESTER, "budi@magelangkota.go.id")
    if step == "phone":
        return
    bot.fake.send_contact(REQUESTER, "081234567890", contact_user_id=REQUESTER)
    await bot.settle()


async def test_a_malformed_nip_is_asked_again_with_the_reason(bot: Harness) -> None:
    await _to_step(bot, "nip")
    reply_texts = []
    for bad in ("19850312201001100", "1985031220100110AB", "198513122010011004"):
        bot.fake.send_text(REQUESTER, bad)
        await bot.settle()
        reply_texts.append(bot.texts(REQUESTER)[-2])
    assert "18 angka" in reply_texts[0] and "17 angka" in reply_texts[0]
    assert "hanya berisi angka" in reply_texts[1]
    assert "tanggal lahir" in reply_texts[2]
    assert "Ketik NIP" in bot.last(REQUESTER).content
    await bot.say(REQUESTER, "19850312 201001 1 004")
    assert "unit kerja" in bot.last(REQUESTER).content


async def test_an_invalid_email_is_asked_again(bot: Harness) -> None:
    await _to_step(bot, "nip")
    await bot.say(REQUESTER, "198503122010011004")
    await bot.say(REQUESTER, "Dinas PU")
    await bot.press(REQUESTER, "Lewati")
    await bot.say(REQUESTER, "budi at magelang")
    assert "email tidak valid" in bot.texts(REQUESTER)[-2].lower()


async def test_someone_elses_contact_is_kept_but_not_verified(bot: Harness) -> None:
    await _to_step(bot, "phone")
    bot.fake.send_contact(REQUESTER, "081299990000", contact_user_id=OTHER_REQUESTER)
    await bot.settle()
    assert any("belum terverifikasi" in text for text in bot.texts(REQUESTER)[-2:])


async def test_unexpected_things_at_each_kind_of_step_get_a_hint(bot: Harness) -> None:
    await _to_step(bot, "name")
    bot.fake.send_sticker(REQUESTER)
    await bot.settle()
    assert "ketik jawabannya" in bot.texts(REQUESTER)[-2]
    assert "nama lengkap" in bot.last(REQUESTER).content

    await bot.say(REQUESTER, "Budi Santoso")
    await bot.say(REQUESTER, "198503122010011004")
    await bot.say(REQUESTER, "Dinas PU")
    await bot.press(REQUESTER, "Lewati")
    await bot.say(REQUESTER, "budi@magelangkota.go.id")
    bot.fake.send_voice(REQUESTER)
    await bot.settle()
    assert "Bagikan nomor saya" in bot.last(REQUESTER).content
    bot.fake.send_contact(REQUESTER, "081234567890", contact_user_id=REQUESTER)
    await bot.settle()

    # At a document step: text, a sticker, a second /start.
    await bot.say(REQUESTER, "ini suratnya")
    assert "kirim file PDF atau foto" in bot.texts(REQUESTER)[-2]
    await bot.say(REQUESTER, "/start")
    assert "Lanjutkan dari langkah terakhir" in bot.last(REQUESTER).content
    await bot.press(REQUESTER, "Lanjutkan")
    assert "surat permohonan" in bot.last(REQUESTER).content
    await bot.upload_pdf(REQUESTER)
    assert "1 file diterima" in bot.last(REQUESTER).content


async def test_wrong_file_types_and_oversized_files_are_refused(bot: Harness) -> None:
    await _to_step(bot, "letter")
    bot.fake.send_document(REQUESTER, b"PK\x03\x04" + b"\x00" * 200, "surat.pdf", "application/pdf")
    await bot.settle()
    assert "Jenis file tidak diterima" in bot.texts(REQUESTER)[-2]
    bot.fake.send_document(
        REQUESTER, b"", "besar.pdf", "application/pdf", declared_size=25 * 1024 * 1024
    )
    await bot.settle()
    assert "terlalu besar" in bot.texts(REQUESTER)[-2] and "20 MB" in bot.texts(REQUESTER)[-2]
    # Nothing was taken: the next good file is page 1.
    await bot.upload_pdf(REQUESTER)
    assert "1 file diterima" in bot.last(REQUESTER).content
    assert (
        len(bot.fake.calls_of("getFile")) == 2
    )  # the fake zip and the good PDF; never the 25 MB one


async def test_done_without_pages_asks_for_the_file(bot: Harness) -> None:
    await _to_step(bot, "letter")
    await bot.upload_pdf(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    bot.fake.send_photo(REQUESTER, png_bytes(3))
    await bot.settle()
    await bot.press(REQUESTER, "Selesai")
    assert "Periksa kembali" in bot.last(REQUESTER).content


async def test_changing_a_field_from_the_summary_returns_to_it(bot: Harness) -> None:
    await _to_step(bot, "letter")
    await bot.upload_pdf(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    await bot.upload_photo(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    await bot.press(REQUESTER, "Ubah data")
    await bot.press(REQUESTER, "Unit kerja")
    summary = await bot.say(REQUESTER, "Bappeda Kota Magelang")
    assert "Unit kerja: Bappeda Kota Magelang" in summary.content


async def test_status_shows_only_ones_own_tickets(bot: Harness) -> None:
    assert "belum punya tiket" in (await bot.say(REQUESTER, "/status")).content
    number = await bot.submit_request()
    for asked in ("/status", "status", number, number.replace("-", "")):
        answer = await bot.say(REQUESTER, asked)
        assert number in answer.content, asked
        assert "Menunggu pemeriksaan kelengkapan" in answer.content
        assert "Menunggu:" in answer.content
        assert "Ditangani admin paling lambat:" in answer.content  # step 2's deadline
    stranger = await bot.say(OTHER_REQUESTER, number)
    assert "tidak ditemukan" in stranger.content
    assert number not in stranger.content


async def test_the_requester_can_cancel_a_waiting_ticket(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.say(REQUESTER, "/status")
    await bot.press(REQUESTER, "Batalkan")
    await bot.press(REQUESTER, "Ya, batalkan")
    assert f"Tiket {number} dibatalkan" in bot.last(REQUESTER).content
    assert "dibatalkan" in bot.card().content.lower() or "diarsipkan" in bot.card().content.lower()
    assert bot.card().buttons() == []
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.ARCHIVED
    assert ticket.outcome == "cancelled"


async def test_batal_drops_a_half_filled_request(bot: Harness) -> None:
    await _to_step(bot, "nip")
    assert "dibatalkan" in (await bot.say(REQUESTER, "/batal")).content
    assert "Tidak ada pengisian" in (await bot.say(REQUESTER, "/batal")).content


async def test_a_restart_mid_conversation_loses_nothing(bot: Harness) -> None:
    await _to_step(bot, "letter")
    await bot.upload_pdf(REQUESTER)
    await bot.restart()
    await bot.press(REQUESTER, "Selesai")
    assert "SK pengangkatan" in bot.last(REQUESTER).content
    await bot.upload_photo(REQUESTER)
    await bot.restart()
    await bot.press(REQUESTER, "Selesai")
    summary = bot.last(REQUESTER).content
    assert "Surat permohonan: 1 file" in summary and "SK: 1 file" in summary
    await bot.press(REQUESTER, "Kirim permohonan")
    assert "nomor tiket" in bot.last(REQUESTER).content
    assert bot.card().buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]


async def test_a_duplicate_update_is_processed_once(bot: Harness) -> None:
    await _to_step(bot, "letter")
    update = bot.fake.send_document(REQUESTER, png_bytes(7), "hal1.png", "image/png")
    await bot.settle()
    bot.fake.redeliver(update)
    await bot.settle()
    assert "1 file diterima" in bot.last(REQUESTER).content
    await bot.upload_photo(REQUESTER)
    assert "2 file diterima" in bot.last(REQUESTER).content


async def _ask_to_complete(bot: Harness, item: str, note: str | None = None) -> None:
    """Tidak lengkap in the group: `item` is missing (with a note typed as a reply)."""
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, item, chat=GROUP, message=bot.card())
    if note is not None:
        await bot.press(ADMIN, "Tambah catatan", chat=GROUP, message=bot.card())
        question = bot.last(GROUP)
        await bot.say(ADMIN, note, chat=GROUP, reply_to=question.message_id)
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())


async def test_giving_up_a_supplement_says_the_ticket_still_waits(bot: Harness) -> None:
    number = await bot.submit_request()
    await _ask_to_complete(bot, "SK pengangkatan")
    await bot.press(REQUESTER, "Lengkapi")
    await bot.upload_pdf(REQUESTER, "SK baru")
    await bot.press(REQUESTER, "Selesai")
    question = bot.last(REQUESTER)
    assert "Kelengkapan tiket" in question.content
    assert "📨 Kirim kelengkapan" in question.buttons()
    assert not any("Kirim permohonan" in b for b in question.buttons())

    await bot.press(REQUESTER, "Batal", message=question)
    stopped = bot.last(REQUESTER)
    assert "data yang sudah diisi dihapus" not in stopped.content
    assert f"Tiket {number} tetap terbuka" in stopped.content
    assert "menunggu kelengkapan" in stopped.content
    assert stopped.buttons() == ["📎 Lengkapi"]
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.INCOMPLETE and ticket.round == 1

    # /batal midway says the same; Lengkapi starts it again.
    await bot.press(REQUESTER, "Lengkapi", message=stopped)
    assert "tetap terbuka" in (await bot.say(REQUESTER, "/batal")).content


async def test_the_cancel_question_has_a_way_back(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.say(REQUESTER, "/status")
    await bot.press(REQUESTER, "Batalkan")
    question = bot.last(REQUESTER)
    assert question.buttons() == ["Ya, batalkan", "« Kembali"]

    answer = await bot.press(REQUESTER, "Kembali", message=question)
    assert answer.get("text") == "Tiket tidak dibatalkan."
    shown = bot.fake.message(REQUESTER, question.message_id)
    assert number in shown.content and "Menunggu pemeriksaan kelengkapan" in shown.content
    assert "Batalkan" in shown.buttons()
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.SUBMITTED


async def test_a_resent_document_is_marked_as_the_correction(bot: Harness) -> None:
    number = await bot.submit_request()  # the SK as two photos
    await _ask_to_complete(bot, "SK pengangkatan")
    await bot.press(REQUESTER, "Lengkapi")
    await bot.upload_pdf(REQUESTER, "SK bertanda tangan")
    await bot.press(REQUESTER, "Selesai")
    await bot.press(REQUESTER, "Kirim kelengkapan")

    files = [m for m in bot.fake.chat_messages(GROUP) if m.document or m.photo]
    assert [m.caption for m in files] == [
        f"{number} · Surat permohonan hal. 1",
        f"{number} · SK hal. 1",
        f"{number} · SK hal. 2",
        f"{number} · SK hal. 1 · PERBAIKAN (putaran 2)",
    ]
    card = bot.card().content
    assert "Dokumen: surat 1 file, SK 2 file (putaran 2)" in card  # the original, not 3
    assert "📎 Perbaikan putaran 2: SK 1 file" in card


async def test_missing_identity_needs_a_note_offers_the_old_values_and_shows_changes(
    bot: Harness,
) -> None:
    number = await bot.submit_request()
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Data identitas", chat=GROUP, message=bot.card())
    refused = await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())
    assert refused["show_alert"] is True and "Tambah catatan" in refused["text"]
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.SUBMITTED
    await bot.press(ADMIN, "Tambah catatan", chat=GROUP, message=bot.card())
    question = bot.last(GROUP)
    await bot.say(ADMIN, "Unit kerja tidak sesuai SK", chat=GROUP, reply_to=question.message_id)
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())
    assert "Unit kerja tidak sesuai SK" in bot.last(REQUESTER).content

    await bot.press(REQUESTER, "Lengkapi")
    asked = bot.last(REQUESTER)
    assert "Data sekarang: Budi Santoso" in asked.content
    await bot.press(REQUESTER, "Tetap", message=asked)
    assert "Data sekarang: 19850312 201001 1 004" in bot.last(REQUESTER).content
    await bot.press(REQUESTER, "Tetap")
    assert "Data sekarang: Dinas Pekerjaan Umum" in bot.last(REQUESTER).content
    await bot.say(REQUESTER, "Dinas PUPR")
    await bot.press(REQUESTER, "Lewati")
    await bot.press(REQUESTER, "Tetap")  # the e-mail
    summary = bot.last(REQUESTER).content
    assert "Nama: Budi Santoso" in summary and "Unit kerja: Dinas PUPR" in summary
    await bot.press(REQUESTER, "Kirim kelengkapan")

    card = bot.card().content
    assert "Data identitas diubah pemohon (putaran 2)" in card
    assert "Unit kerja: Dinas Pekerjaan Umum → Dinas PUPR" in card
    assert "Nama: Budi" not in card.split("putaran 2)")[-1]  # unchanged fields not listed
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.work_unit == "Dinas PUPR"
    assert ticket.full_name == "Budi Santoso"


async def test_a_second_open_request_with_the_same_nip_is_told_and_shown(bot: Harness) -> None:
    first = await bot.submit_request()
    second = await bot.submit_request()
    receipt = bot.last(REQUESTER).content
    assert f"nomor tiket {second}" in receipt
    assert (
        f"Anda masih punya permohonan terbuka {first} (Menunggu pemeriksaan kelengkapan "
        "oleh admin) untuk NIP ini" in receipt
    )
    assert f"Permohonan lain dengan NIP ini terbuka bersamaan: {first}" in bot.card().content
    ticket = await bot.app.services.tickets.find_by_number(first)
    assert ticket is not None and ticket.admin_message_id is not None
    first_card = bot.fake.message(GROUP, int(ticket.admin_message_id))
    assert f"Permohonan lain dengan NIP ini terbuka bersamaan: {second}" in first_card.content
    assert (await bot.app.services.tickets.find_by_number(second)) is not None  # not refused

    # Another account with that NIP: the admins see it; that chat is not told of others.
    third = await bot.submit_request(user=OTHER_REQUESTER)
    assert "permohonan terbuka" not in bot.last(OTHER_REQUESTER).content
    assert f"NIP ini terbuka bersamaan: {first}, {second}" in bot.card().content
    assert third in bot.card().content


async def test_a_nip_in_arabic_indic_digits_is_kept_in_ascii(bot: Harness) -> None:
    await _to_step(bot, "nip")
    await bot.say(REQUESTER, "198503122010131004")  # appointed in month 13
    assert "bulan pengangkatan" in bot.texts(REQUESTER)[-2]
    assert "unit kerja" in (await bot.say(REQUESTER, "١٩٨٥٠٣١٢ ٢٠١٠٠١ ١ ٠٠٤")).content
    await bot.say(REQUESTER, "Dinas PU")
    await bot.press(REQUESTER, "Lewati")
    await bot.say(REQUESTER, "budi@magelangkota.go.id")
    bot.fake.send_contact(REQUESTER, "081234567890", contact_user_id=REQUESTER)
    await bot.settle()
    await bot.upload_pdf(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    await bot.upload_photo(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    assert "NIP: 19850312 201001 1 004" in bot.last(REQUESTER).content
