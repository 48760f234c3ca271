"""Uploads as the requester and the admins see them: a photo reaches the group without its
GPS position, an encrypted PDF is marked on the card, a PDF with a file hidden behind its
end is refused, and a chat cannot upload without limit into requests it never sends."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from chatbot.settings import Settings
from tests.e2e.harness import GROUP, REQUESTER, Harness, bot_settings
from tests.factories import pdf_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.test_documents import EXIF_GPS_IFD, _fpdf, _photo_with_gps, _zip

QUOTA_FILES = 4


@pytest.fixture
async def bot(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[Harness]:
    harness = Harness(fake, bot_settings(settings, fake, upload_draft_quota_files=QUOTA_FILES))
    await harness.start()
    yield harness
    await harness.stop()


async def _to_letter(bot: Harness) -> None:
    await bot.say(REQUESTER, "/start")
    await bot.press(REQUESTER, "Ajukan permohonan")
    await bot.press(REQUESTER, "Reset password")
    await bot.press(REQUESTER, "PPK")
    await bot.say(REQUESTER, "Budi Santoso")
    await bot.say(REQUESTER, "198503122010011004")
    await bot.say(REQUESTER, "Dinas PU")
    await bot.press(REQUESTER, "Lewati")
    await bot.say(REQUESTER, "budi@magelangkota.go.id")
    bot.fake.send_contact(REQUESTER, "081234567890", contact_user_id=REQUESTER)
    await bot.settle()


def _group_file(bot: Harness, caption: str) -> tuple[str, bytes]:
    """The caption and the bytes of the file the admins got with `caption` in its caption."""
    for message in bot.fake.chat_messages(GROUP):
        if message.document and caption in (message.caption or ""):
            return message.caption or "", bot.fake.files[message.document["file_id"]].content
    raise AssertionError(f"no file {caption!r} in the group: {bot.texts(GROUP)}")


async def test_the_admins_get_the_photo_without_gps_and_see_an_encrypted_pdf(
    bot: Harness,
) -> None:
    await _to_letter(bot)
    bot.fake.send_document(REQUESTER, _photo_with_gps("JPEG"), "IMG_0001.jpg", "image/jpeg")
    await bot.settle()
    await bot.press(REQUESTER, "Selesai")
    bot.fake.send_document(REQUESTER, _fpdf(password="rahasia"), "sk.pdf", "application/pdf")
    await bot.settle()
    await bot.press(REQUESTER, "Selesai")
    await bot.press(REQUESTER, "Kirim permohonan")

    _caption, photo = _group_file(bot, "Surat permohonan hal. 1")
    assert b"Pixel 9" not in photo
    with Image.open(io.BytesIO(photo)) as image:
        assert not image.getexif().get_ifd(EXIF_GPS_IFD)
        assert image.size == (20, 40)  # upright, as the phone showed it
    caption, _pdf = _group_file(bot, "SK hal. 1")
    assert "🔒 PDF terenkripsi" in caption
    card = bot.card().content
    assert "🔒 PDF terenkripsi (mungkin perlu kata sandi): SK hal. 1" in card
    assert "Surat permohonan hal. 1" not in card  # the photo is not encrypted


async def test_a_pdf_with_a_zip_behind_its_end_is_refused(bot: Harness) -> None:
    await _to_letter(bot)
    bot.fake.send_document(REQUESTER, pdf_bytes() + _zip(), "surat.pdf", "application/pdf")
    await bot.settle()
    assert "File PDF tidak utuh" in bot.texts(REQUESTER)[-2]
    # Nothing was taken: the next good file is page 1.
    await bot.upload_pdf(REQUESTER)
    assert "1 file diterima" in bot.last(REQUESTER).content


async def test_uploads_into_unsent_requests_stop_at_the_quota_until_one_is_sent(
    bot: Harness,
) -> None:
    await _to_letter(bot)
    for page in range(QUOTA_FILES):
        await bot.upload_pdf(REQUESTER, f"Halaman {page}")
    assert f"{QUOTA_FILES} file diterima" in bot.last(REQUESTER).content
    await bot.upload_pdf(REQUESTER, "Satu lagi")
    refusal = bot.texts(REQUESTER)[-2]
    assert "batas unggahan untuk permohonan yang belum dikirim sudah tercapai" in refusal
    assert "Kirim permohonan" in refusal and "/batal" in refusal
    assert f"{QUOTA_FILES} file diterima" in bot.last(REQUESTER).content  # page not taken

    # Starting over does not give the room back: those files are still on the server.
    await bot.say(REQUESTER, "/batal")
    await _to_letter(bot)
    await bot.upload_pdf(REQUESTER, "Surat baru")
    assert "batas unggahan" in bot.texts(REQUESTER)[-2]


async def test_a_sent_request_gives_its_uploads_back(bot: Harness) -> None:
    await bot.submit_request()  # three files, now held by the ticket
    await _to_letter(bot)
    for page in range(QUOTA_FILES):
        await bot.upload_pdf(REQUESTER, f"Permohonan kedua {page}")
        assert f"{page + 1} file diterima" in bot.last(REQUESTER).content
