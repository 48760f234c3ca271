"""What the control sheet shows, detached from the database: its rows, and the codes the
services store (step outcomes, audit actions) in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.services.vocabulary import OFFICE

SOP_TITLE = f"SOP Perubahan Password dan Pemberian Informasi User ID PPK/PP/Pokja pada {OFFICE}"

# A step record's outcome code in words (the "Hasil" column); the codes stay in manifest.json.
STEP_OUTCOMES = {
    "diajukan": "diajukan",
    "lengkap": "lengkap",
    "tidak_lengkap": "tidak lengkap",
    "diminta": "pemohon diminta melengkapi",
    "dilengkapi": "dilengkapi",
    "kedaluwarsa": "tidak dilengkapi sampai batas waktu",
    "valid": "valid",
    "tidak_valid": "tidak valid",
    "ditolak": "penolakan dikirim",
    "password_direset": "password baru dibuat",
    "user_id_diberikan": "user ID ditemukan",
    "password_direset_dan_user_id": "password baru dibuat dan user ID ditemukan",
    "diterima_pemohon": "diterima pemohon",
    "link_kedaluwarsa": "link kedaluwarsa tanpa dibuka",
    "link_dibatalkan": "link dibatalkan admin",
    "link_hilang": "link hilang dari penyimpanan sebelum dibuka",
    "dibatalkan_pemohon": "dibatalkan pemohon",
    "diarsipkan": "diarsipkan",
}
NO_STANDARD = "-"  # steps 1 and 4 wait on the requester: the SOP sets no standard
ARCHIVE_NOTE = "dicatat saat arsip ditulis"
# The audit trail's action codes in words (unknown codes are shown as they are).
ACTIONS = {
    "submitted": "mengajukan permohonan",
    "supplemented": "melengkapi berkas",
    "identity_supplemented": "data identitas diperbarui",
    "complete": "berkas lengkap",
    "incomplete": "berkas tidak lengkap",
    "supplement": "melengkapi berkas",
    "confirm_phone": "konfirmasi telepon",
    "valid": "data valid",
    "invalid": "data tidak valid",
    "claim_result": "mengambil tugas reset",
    "deliver": "hasil dikirim",
    "link_created": "link sekali pakai dibuat",
    "link_unsent": "pengiriman link terputus, link dimatikan",
    "link_opened": "halaman link dibuka",
    "link_revealed": "hasil dibuka pemohon",
    "receive": "hasil diterima pemohon",
    "confirm_login": "pemohon sudah login",
    "close_unconfirmed": "ditutup tanpa konfirmasi login",
    "confirm_reminder": "pengingat konfirmasi",
    "incident": "insiden dilaporkan",
    "expire_link": "link kedaluwarsa",
    "link_expired": "link kedaluwarsa",
    "revoke_link": "link dibatalkan",
    "link_revoked": "link dibatalkan",
    "lose_link": "link hilang dari penyimpanan",
    "link_lost": "link hilang dari penyimpanan",
    "cancel": "dibatalkan pemohon",
    "expire": "kedaluwarsa",
    "supplement_reminder": "pengingat melengkapi",
    "late_explained": "alasan keterlambatan dicatat",
    "archive": "diarsipkan",
    "archive_exported": "arsip diunduh",
    "link_revealed_late": "hasil dibuka setelah link tidak berlaku",
    "reveal_refused": "pembukaan hasil ditolak",
    "requester_unreachable": "pemohon tidak dapat dihubungi lewat bot",
    "requester_reachable": "pemohon dapat dihubungi lagi",
    "requester_moved": "pemohon pindah ke nomor/akun baru",
    "ready_asked": "pemohon diminta mengetuk Siap menerima",
    "ready": "pemohon siap menerima hasil",
    "searched": "pencarian tiket",
    "purged": "data pribadi dihapus (retensi)",
}
UNKNOWN_ACTION = "tindakan lain"


@dataclass(frozen=True)
class SheetStep:
    step: int
    actor: str
    started_at: datetime | None
    finished_at: datetime | None
    office_seconds: int | None
    standard_minutes: int | None
    late: bool
    outcome: str
    note: str
    late_reason: str | None = None
    late_reason_by: str | None = None


@dataclass(frozen=True)
class SheetDocument:
    file: str
    kind: str
    round: int
    page: int
    size: int
    sha256: str


@dataclass(frozen=True)
class SheetEvent:
    at: datetime
    actor: str
    action: str


@dataclass(frozen=True)
class ControlSheet:
    """What the sheet shows, detached from the database."""

    number: str
    request_type: str
    role: str
    work_unit: str
    name: str
    nip: str
    email: str
    phone: str
    spse_user_id: str
    created_at: datetime
    closed_at: datetime | None
    archived_at: datetime
    outcome: str
    steps: tuple[SheetStep, ...]
    documents: tuple[SheetDocument, ...]
    rejection_reason: str | None
    incomplete_note: str | None
    missing: tuple[str, ...]
    phone_confirmed_by: str | None
    incidents: int
    events: tuple[SheetEvent, ...]
    zone: ZoneInfo
    office: str = OFFICE
    sop_title: str = SOP_TITLE
