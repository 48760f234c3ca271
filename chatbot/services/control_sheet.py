"""The archive's *lembar kendali* (control sheet): one ticket on A4, as a PDF.

It shows what the SOP asks to be accountable for: the ticket and whom it was for, every step
with its actor, times in the office's zone, office minutes against the time standard and the
outcome, the decisions with their reasons, why late steps were late, the SHA-256 of every
document, and a summary of the audit trail.

Fonts: DejaVu Sans (TrueType) when it is installed (Debian: `fonts-dejavu-core`), so names in
any script print as written; a character the font lacks becomes "?". Without DejaVu, the
PDF's built-in Helvetica is used and text is folded to Latin-1 first (accents kept where
Latin-1 has them: "é" stays, "ā" becomes "a", anything else "?"), because fpdf2's core fonts
refuse other characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from chatbot.db.models import AuditEvent, Document, StepRecord, Ticket
from chatbot.services.enums import DocumentKind, MissingItem, Outcome, RequestType, Role, Step
from chatbot.services.identity import format_nip
from chatbot.services.pdf import PdfDocument
from chatbot.services.pdf_fonts import Fonts, find_fonts
from chatbot.services.people import Names, names_of
from chatbot.services.sla import whole_minutes
from chatbot.services.vocabulary import (
    DOCUMENT_KINDS,
    MISSING_IN_SENTENCE,
    OFFICE,
    OUTCOMES,
    REQUEST_TYPES,
    ROLES,
    STEP_ACTIVITIES,
)

SOP_TITLE = f"SOP Perubahan Password dan Pemberian Informasi User ID PPK/PP/Pokja pada {OFFICE}"
FILE_NAME = "lembar-kendali.pdf"

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


def _outcome(code: str | None) -> str:
    return STEP_OUTCOMES.get(code or "", (code or "").replace("_", " "))


PHONE_NOTE = re.compile(r"(dikonfirmasi lewat telepon oleh )([^;]+)")


def _missing(code: str) -> str:
    """A missing item in a sentence; an unknown code as it is."""
    try:
        return MISSING_IN_SENTENCE[MissingItem(code)]
    except ValueError:
        return code


def _note(record: StepRecord, names: Names) -> str:
    """The step's note in words: the codes the service writes into some notes are named, and
    the admin a phone confirmation note names is shown by their one name."""
    note = PHONE_NOTE.sub(lambda m: m.group(1) + (names.named(m.group(2)) or ""), record.note or "")
    if record.step in (Step.CHECK_COMPLETENESS, Step.SUPPLEMENT) and record.outcome in (
        "tidak_lengkap",
        "dilengkapi",
    ):
        return re.sub(r"\b(letter|sk|identity)\b", lambda m: _missing(m.group(1)), note)
    for code in ("link_kedaluwarsa", "link_dibatalkan", "link_hilang"):
        note = note.replace(code, STEP_OUTCOMES[code])
    return note


def _step(record: StepRecord, names: Names) -> SheetStep:
    return SheetStep(
        step=int(record.step),
        actor=names.of(record.actor_id, record.actor_name) or "-",
        started_at=record.started_at,
        finished_at=record.finished_at,
        office_seconds=record.office_seconds,
        standard_minutes=record.standard_minutes,
        late=record.late,
        outcome=_outcome(record.outcome),
        note=_note(record, names),
        late_reason=record.late_reason,
        late_reason_by=names.named(record.late_reason_by),
    )


def _document(doc: Document, files: dict[int, str]) -> SheetDocument:
    return SheetDocument(
        file=files.get(doc.id, "-"),
        kind=DOCUMENT_KINDS.get(DocumentKind(doc.kind), str(doc.kind)),
        round=doc.round,
        page=doc.page,
        size=doc.size,
        sha256=doc.sha256,
    )


def sheet_for(
    ticket: Ticket,
    files: dict[int, str],
    zone: ZoneInfo,
    *,
    archived_at: datetime,
    archive_started_at: datetime,
    archive_standard: int | None,
    events: Sequence[AuditEvent] = (),
) -> ControlSheet:
    """The sheet of `ticket`. Step 9 is recorded only after the archive folder is written, so
    when the ticket has no step-9 record yet, the sheet shows it as done by the system at
    `archived_at` (the same moment manifest.json gives), noting that it was written then."""
    names = names_of(ticket, events)
    steps = [_step(record, names) for record in ticket.steps]
    if not any(s.step == Step.ARCHIVE for s in steps):
        steps.append(
            SheetStep(
                step=int(Step.ARCHIVE),
                actor="Sistem",
                started_at=archive_started_at,
                finished_at=archived_at,
                office_seconds=None,
                standard_minutes=archive_standard,
                late=False,
                outcome="diarsipkan",
                note=ARCHIVE_NOTE,
            )
        )
    return ControlSheet(
        number=str(ticket.number),
        request_type=REQUEST_TYPES.get(RequestType(ticket.request_type), str(ticket.request_type)),
        role=ROLES.get(Role(ticket.role), str(ticket.role)),
        work_unit=ticket.work_unit,
        name=ticket.full_name,
        nip=format_nip(ticket.nip),
        email=ticket.email,
        phone=(ticket.phone or "-") + (" (terverifikasi)" if ticket.phone_verified else ""),
        spse_user_id=ticket.spse_user_id or "-",
        created_at=ticket.created_at,
        closed_at=ticket.closed_at,
        archived_at=archived_at,
        outcome=OUTCOMES.get(Outcome(ticket.outcome), str(ticket.outcome))
        if ticket.outcome
        else "-",
        steps=tuple(steps),
        documents=tuple(_document(doc, files) for doc in ticket.documents),
        rejection_reason=ticket.rejection_reason,
        incomplete_note=ticket.incomplete_note,
        missing=tuple(_missing(m) for m in ticket.missing or ()),
        phone_confirmed_by=names.named(ticket.phone_confirmed_by),
        incidents=ticket.incidents,
        events=tuple(
            SheetEvent(
                at=e.at,
                actor=names.of(e.actor_id, e.actor_name) or "-",
                action=ACTIONS.get(e.action, UNKNOWN_ACTION),
            )
            for e in events
        ),
        zone=zone,
    )


# ---- rendering ---------------------------------------------------------------------------------


class _Sheet(PdfDocument):
    def __init__(self, sheet: ControlSheet, fonts: Fonts | None) -> None:
        super().__init__(
            fonts,
            margin=12,
            bottom=15,
            title=f"Lembar kendali tiket {sheet.number}",
            author=sheet.office,
            mono=True,
        )
        self.sheet = sheet
        self.set_creation_date(sheet.archived_at)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "-"
        local = moment.astimezone(self.sheet.zone)
        return f"{local:%d-%m-%Y %H.%M}"

    def zone_name(self) -> str:
        return self.sheet.archived_at.astimezone(self.sheet.zone).tzname() or self.sheet.zone.key

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(self.body, size=7)
        self.cell(
            0,
            5,
            self.clean(
                f"Lembar kendali tiket {self.sheet.number} - dibuat otomatis oleh sistem "
                f"{self.when(self.sheet.archived_at)} {self.zone_name()} - "
                f"halaman {self.page_no()}/{{nb}}"
            ),
            align="C",
        )

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(self.body, "B", 10)
        self.cell(0, 6, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.body, size=8.5)

    def paragraph(self, text: str) -> None:
        self.multi_cell(0, 4.5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        self.set_font(self.body, size=8.5)
        with self.table(
            col_widths=(50, 136),
            first_row_as_headings=False,
            line_height=4.6,
            borders_layout="NONE",
            padding=0.6,
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(self.clean(label))
                row.cell(self.clean(value))


def _minutes(step: SheetStep) -> str:
    used = "-" if step.office_seconds is None else str(whole_minutes(step.office_seconds))
    standard = NO_STANDARD if step.standard_minutes is None else str(step.standard_minutes)
    late = "\nMELEBIHI BAKU" if step.late else ""
    return f"{used} / {standard}{late}"


def render(sheet: ControlSheet, fonts: Fonts | None = None) -> bytes:
    """The sheet as PDF bytes (A4 portrait). `fonts`: None means DejaVu if installed."""
    pdf = _Sheet(sheet, fonts if fonts is not None else find_fonts())
    pdf.add_page()
    zone = pdf.zone_name()

    pdf.set_font(pdf.body, "B", 9)
    pdf.multi_cell(0, 4.5, pdf.clean(sheet.office.upper()), align="C", new_x=XPos.LMARGIN)
    pdf.set_font(pdf.body, size=8)
    pdf.multi_cell(0, 4, pdf.clean(sheet.sop_title), align="C", new_x=XPos.LMARGIN)
    pdf.ln(2)
    pdf.set_font(pdf.body, "B", 13)
    pdf.cell(0, 7, pdf.clean(f"LEMBAR KENDALI TIKET {sheet.number}"), align="C", new_x=XPos.LMARGIN)
    pdf.ln(8)

    pdf.heading("A. Permohonan")
    pdf.fields(
        [
            ("Nomor tiket", sheet.number),
            ("Jenis permohonan", sheet.request_type),
            ("Jabatan", sheet.role),
            ("Unit kerja", sheet.work_unit),
            ("Nama pemohon", sheet.name),
            ("NIP", sheet.nip),
            ("Email", sheet.email),
            ("Nomor HP", sheet.phone),
            ("User ID SPSE (diisi pemohon)", sheet.spse_user_id),
            ("Diajukan", f"{pdf.when(sheet.created_at)} {zone}"),
            ("Ditutup", f"{pdf.when(sheet.closed_at)} {zone}"),
            ("Diarsipkan", f"{pdf.when(sheet.archived_at)} {zone}"),
            ("Hasil akhir", sheet.outcome),
        ]
    )

    pdf.heading(
        f"B. Langkah SOP (waktu {zone}; menit kerja, dibulatkan ke atas / waktu baku dalam "
        "menit; - : tanpa waktu baku)"
    )
    pdf.set_font(pdf.body, size=7.5)
    with pdf.table(
        col_widths=(7, 37, 25, 20, 20, 20, 22, 35),
        line_height=3.8,
        padding=0.8,
        text_align=("CENTER", "LEFT", "LEFT", "LEFT", "LEFT", "CENTER", "LEFT", "LEFT"),
    ) as table:
        header = table.row()
        for title in (
            "No",
            "Kegiatan",
            "Pelaksana",
            "Mulai",
            "Selesai",
            "Waktu / baku",
            "Hasil",
            "Catatan",
        ):
            header.cell(title)
        for step in sheet.steps:
            row = table.row()
            row.cell(str(step.step))
            row.cell(pdf.clean(STEP_ACTIVITIES.get(Step(step.step), str(step.step))))
            row.cell(pdf.clean(step.actor))
            row.cell(pdf.when(step.started_at))
            row.cell(pdf.when(step.finished_at))
            row.cell(_minutes(step))
            row.cell(pdf.clean(step.outcome or "-"))
            row.cell(pdf.clean(step.note or "-"))

    pdf.heading("C. Keputusan dan alasan")
    decisions = []
    if sheet.missing or sheet.incomplete_note:
        what = ", ".join(sheet.missing) or "-"
        note = f"; catatan: {sheet.incomplete_note}" if sheet.incomplete_note else ""
        decisions.append(f"Berkas tidak lengkap (langkah 2-3): {what}{note}")
    if sheet.phone_confirmed_by:
        decisions.append(f"Konfirmasi telepon kepada pemohon oleh {sheet.phone_confirmed_by}")
    if sheet.rejection_reason:
        decisions.append(f"Alasan penolakan (langkah 5/7): {sheet.rejection_reason}")
    if sheet.incidents:
        decisions.append(
            f"Insiden: pemohon melaporkan hasil dibuka orang lain ({sheet.incidents} kali); "
            "reset diulang"
        )
    for line in decisions or ["Tidak ada catatan keputusan selain hasil tiap langkah di atas."]:
        pdf.paragraph(f"- {line}")

    pdf.heading("D. Penyimpangan waktu baku dan alasannya")
    late = [s for s in sheet.steps if s.late]
    if not late:
        pdf.paragraph("Semua langkah selesai dalam waktu baku.")
    for step in late:
        used = whole_minutes(step.office_seconds or 0)
        reason = step.late_reason or "(alasan belum dicatat)"
        by = f" (dicatat oleh {step.late_reason_by})" if step.late_reason_by else ""
        activity = STEP_ACTIVITIES.get(Step(step.step), "")
        pdf.paragraph(
            f"- Langkah {step.step} {activity}: {used} menit kerja, "
            f"baku {step.standard_minutes} menit. Alasan: {reason}{by}"
        )

    pdf.heading("E. Dokumen (SHA-256 dihitung saat dokumen diterima)")
    pdf.set_font(pdf.body, size=7.5)
    with pdf.table(
        col_widths=(42, 24, 18, 14, 88),
        line_height=3.8,
        padding=0.8,
        text_align=("LEFT", "LEFT", "CENTER", "RIGHT", "LEFT"),
    ) as table:
        header = table.row()
        for title in ("Berkas", "Jenis", "Putaran / halaman", "Ukuran", "SHA-256"):
            header.cell(title)
        for doc in sheet.documents:
            row = table.row()
            row.cell(pdf.clean(doc.file))
            row.cell(pdf.clean(doc.kind))
            row.cell(f"{doc.round}/{doc.page}")
            row.cell(f"{doc.size:,}".replace(",", "."))
            row.cell(doc.sha256, style=FontFace(family=pdf.mono, size_pt=6))
    if not sheet.documents:
        pdf.paragraph("Tidak ada dokumen.")

    if sheet.events:
        pdf.heading("F. Ringkasan jejak audit")
        pdf.set_font(pdf.body, size=7.5)
        with pdf.table(col_widths=(30, 60, 96), line_height=3.8, padding=0.8) as table:
            header = table.row()
            for title in (f"Waktu ({zone})", "Pelaku", "Tindakan"):
                header.cell(title)
            for event in sheet.events:
                row = table.row()
                row.cell(pdf.when(event.at))
                row.cell(pdf.clean(event.actor))
                row.cell(pdf.clean(event.action))

    pdf.ln(3)
    pdf.set_font(pdf.body, size=7.5)
    pdf.paragraph(
        "Lembar ini dibuat otomatis oleh sistem pada langkah 9 (pengarsipan) dan disimpan "
        "bersama manifest.json dan dokumen asli. Memuat data pribadi (UU 27/2022): hanya untuk "
        "keperluan arsip SOP, jangan disebarluaskan."
    )
    return bytes(pdf.output())
