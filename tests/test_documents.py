"""What is kept of an upload: photos without their metadata, PDFs that end where they say,
encrypted PDFs flagged, and a quota on what a chat uploads without ever sending it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter

from chatbot.conversations import texts as t
from chatbot.services.documents import (
    DRAFT_UPLOAD_WINDOW,
    DocumentStore,
    DraftUploads,
    UploadQuota,
)
from chatbot.services.identity import InvalidInput
from chatbot.services.retention import ORPHAN_AFTER
from chatbot.store import Store
from tests.factories import pdf_bytes

# Magelang city hall: where the photo was taken, which the admins have no need to know.
GPS = {1: "S", 2: (7.0, 28.0, 47.0), 3: "E", 4: (110.0, 13.0, 2.0)}
EXIF_GPS_IFD = 0x8825
EXIF_ORIENTATION = 0x0112
EXIF_MODEL = 0x0110


def _photo_with_gps(fmt: str) -> bytes:
    """A 40x20 picture, left half black, stored sideways (orientation 6) with GPS and XMP."""
    image = Image.new("RGB", (40, 20), "white")
    image.paste((0, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # shown rotated 90° clockwise
    exif[EXIF_MODEL] = "Pixel 9"
    exif.get_ifd(EXIF_GPS_IFD).update(GPS)
    out = io.BytesIO()
    xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/">Budi Santoso</x:xmpmeta>'
    if fmt == "PNG":  # XMP lives in an iTXt chunk there
        text = PngInfo()
        text.add_itxt("XML:com.adobe.xmp", xmp)
        image.save(out, format=fmt, exif=exif, pnginfo=text)
    else:
        image.save(out, format=fmt, exif=exif, xmp=xmp.encode(), quality=95)
    content = out.getvalue()
    assert b"Pixel 9" in content and b"Budi Santoso" in content  # the metadata is really there
    return content


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_photo_is_kept_upright_without_gps_exif_or_xmp(tmp_path: Path, fmt: str) -> None:
    store = DocumentStore(tmp_path, max_bytes=1024 * 1024)
    stored = store.keep(_photo_with_gps(fmt), original_name="surat.jpg")

    kept = (tmp_path / stored.path).read_bytes()
    assert b"Pixel 9" not in kept and b"Budi Santoso" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == fmt
        assert not image.getexif()
        assert not image.getexif().get_ifd(EXIF_GPS_IFD)
        assert "xmp" not in image.info and "exif" not in image.info
        # Turned as the phone meant it: upright, 20 wide and 40 high, black on top.
        assert image.size == (20, 40)
        top, bottom = image.convert("L").getpixel((10, 5)), image.convert("L").getpixel((10, 35))
        assert isinstance(top, int) and isinstance(bottom, int)
        assert top < 60 and bottom > 200
    # What is stored is what the archive's hash is of.
    assert stored.size == len(kept)
    assert stored.mime == Image.MIME[fmt]


def test_a_sideways_photo_without_orientation_is_left_as_it_is(tmp_path: Path) -> None:
    image = Image.new("L", (30, 10), 200)
    out = io.BytesIO()
    image.save(out, format="PNG")
    kept = DocumentStore(tmp_path, max_bytes=1024 * 1024).keep(out.getvalue())
    with Image.open(tmp_path / kept.path) as back:
        assert back.size == (30, 10)
        assert ImageOps.exif_transpose(back).size == (30, 10)


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((9000, 8000), id="72-megapixels"),
        pytest.param((10000, 10000), id="over-pillow-warning"),
        pytest.param((15000, 13000), id="over-pillow-limit"),
    ],
)
def test_a_picture_too_large_to_decode_is_refused_by_its_header(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    out = io.BytesIO()
    Image.new("1", size).save(out, format="PNG")  # a few KB on the wire
    with pytest.raises(InvalidInput) as refused:
        DocumentStore(tmp_path, max_bytes=1024 * 1024).keep(out.getvalue())
    assert "Resolusi gambar terlalu besar" in t.invalid_input(refused.value)
    assert not (tmp_path / "uploads").exists()


def test_a_damaged_picture_is_refused(tmp_path: Path) -> None:
    broken = _photo_with_gps("JPEG")[:300]
    with pytest.raises(InvalidInput) as refused:
        DocumentStore(tmp_path, max_bytes=1024 * 1024).keep(broken)
    assert "Gambar tidak dapat dibaca" in t.invalid_input(refused.value)


# ---- PDFs ------------------------------------------------------------------------------------


def _fpdf(password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Surat permohonan reset password")
    if password is not None:
        pdf.set_encryption(owner_password="pemilik", user_password=password)
    return bytes(pdf.output())


def _zip(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.exe", b"MZ" + b"\x90" * 64)
        archive.comment = comment
    return out.getvalue()


def test_an_encrypted_pdf_is_flagged_and_a_plain_one_is_not(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, max_bytes=1024 * 1024)
    locked = _fpdf(password="rahasia")
    assert PdfReader(io.BytesIO(locked)).is_encrypted  # the fixture really is encrypted
    assert store.keep(locked).encrypted is True
    assert store.keep(_fpdf()).encrypted is False
    assert store.keep(pdf_bytes()).encrypted is False


def test_encryption_named_in_a_cross_reference_stream_is_flagged(tmp_path: Path) -> None:
    """PDF 1.5 files keep the trailer in the dictionary of an XRef stream."""
    body = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    xref_at = len(body)
    body += (
        b"9 0 obj\n<< /Type /XRef /Size 10 /W [1 2 1] /Root 1 0 R /Encrypt 8 0 R "
        b"/ID [<00><00>] /Length 0 >>\nstream\n\nendstream\nendobj\n"
    )
    body += b"startxref\n%d\n%%%%EOF\n" % xref_at
    assert DocumentStore(tmp_path, max_bytes=1024 * 1024).keep(body).encrypted is True
    plain = body.replace(b"/Encrypt 8 0 R ", b"")
    assert DocumentStore(tmp_path, max_bytes=1024 * 1024).keep(plain).encrypted is False


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(pdf_bytes() + _zip(), id="zip-appended"),
        # The ZIP's comment ends the file the way a PDF does: the ZIP is found all the same.
        pytest.param(pdf_bytes() + _zip(b"\nstartxref\n9\n%%EOF\n"), id="zip-comment-ends-pdf"),
        pytest.param(pdf_bytes() + b"MZ\x90\x00 hidden program", id="bytes-appended"),
        pytest.param(pdf_bytes()[:-40], id="truncated"),
    ],
)
def test_a_pdf_with_data_after_its_end_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        DocumentStore(tmp_path, max_bytes=1024 * 1024).keep(content, original_name="surat.pdf")
    assert "PDF tidak utuh" in t.invalid_input(refused.value)
    assert not (tmp_path / "uploads").exists()


def test_white_space_and_incremental_updates_after_eof_are_fine(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, max_bytes=1024 * 1024)
    assert store.keep(pdf_bytes() + b"\r\n\x00\n  \n").mime == "application/pdf"
    # An incremental update (as a signing tool writes) appends a section with its own %%EOF.
    writer = PdfWriter(io.BytesIO(pdf_bytes()), incremental=True)
    writer.add_metadata({"/Title": "Surat ditandatangani"})
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(pdf_bytes()) and updated.count(b"%%EOF") == 2
    assert store.keep(updated).mime == "application/pdf"


# ---- the quota on uploads of unsent drafts ---------------------------------------------------


def _stored(store: DocumentStore, label: str) -> object:
    return store.keep(pdf_bytes(label))


async def test_the_quota_counts_files_and_bytes_until_the_request_is_sent(
    tmp_path: Path, store: Store
) -> None:
    files = DocumentStore(tmp_path, max_bytes=1024 * 1024)
    first, second = files.keep(pdf_bytes("satu")), files.keep(pdf_bytes("dua"))
    drafts = DraftUploads(store, UploadQuota(files=2, bytes=first.size + second.size + 100))
    chat, other = "telegram:1001", "telegram:1002"

    await drafts.add(chat, first)
    await drafts.add(chat, first)  # the same bytes again take no more room
    assert await drafts.allows(chat, second.size)
    await drafts.add(chat, second)
    assert not await drafts.allows(chat, 10)  # two files: full
    assert await drafts.allows(other, 10)  # another chat has its own quota

    await drafts.release(chat, [first])  # sent: a ticket holds it now
    assert await drafts.allows(chat, 100)
    assert not await drafts.allows(chat, 101 + first.size)  # the bytes count too
    usage = await drafts.usage(chat)
    assert (usage.files, usage.bytes) == (1, second.size)


def test_uploads_count_as_long_as_retention_keeps_them() -> None:
    assert DRAFT_UPLOAD_WINDOW == ORPHAN_AFTER
