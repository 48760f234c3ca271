"""Fixed test data: a real (tiny) PDF, PNG and JPEG, an identity, and a submitted ticket."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from chatbot.db.models import Ticket
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import DocumentKind, RequestType, Role
from chatbot.services.identity import Identity
from chatbot.services.tickets import Actor, NewDocument, TicketService

NIP = "198503122010011004"
REQUESTER = Actor(id="telegram:1001", name="Budi Santoso")
ADMIN = Actor(id="telegram:9001", name="Admin Sari")
ADMIN_2 = Actor(id="telegram:9002", name="Admin Joko")


def pdf_bytes(label: str = "Surat permohonan") -> bytes:
    """A minimal, valid one-page PDF."""
    stream = f"BT /F1 12 Tf 72 720 Td ({label}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_bytes(shade: int = 128) -> bytes:
    """A valid 2x2 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + bytes([shade, shade]) for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


JPEG_1PX = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b0800"
    "01000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002"
    "010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f024"
    "33627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566676869"
    "6a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4"
    "c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3"
    "ffd9"
)


def identity(**changes: str) -> Identity:
    values = {
        "name": "Budi Santoso",
        "nip": NIP,
        "role": Role.PPK.value,
        "work_unit": "Dinas Pekerjaan Umum",
        "email": "budi@magelangkota.go.id",
        "spse_user_id": None,
        "phone": "+6281234567890",
    }
    values.update(changes)
    return Identity(**values)  # type: ignore[arg-type]


def documents(store: DocumentStore) -> list[NewDocument]:
    return [
        NewDocument(DocumentKind.LETTER, store.keep(pdf_bytes("Surat"), original_name="s.pdf")),
        NewDocument(DocumentKind.SK, store.keep(png_bytes(10))),
        NewDocument(DocumentKind.SK, store.keep(png_bytes(20))),
    ]


async def submitted_ticket(
    tickets: TicketService,
    files: DocumentStore,
    request_type: RequestType = RequestType.RESET_PASSWORD,
    chat_id: str = "1001",
    channel: str = "telegram",
) -> Ticket:
    return await tickets.submit(
        channel=channel,
        chat_id=chat_id,
        actor=REQUESTER,
        identity=identity(),
        request_type=request_type,
        documents=documents(files),
    )


def storage(root: Path) -> DocumentStore:
    return DocumentStore(root, max_bytes=20 * 1024 * 1024)
