"""The control sheet drawn on A4 (portrait), one section after another."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from chatbot.services.control_sheet_content import NO_STANDARD, ControlSheet, SheetStep
from chatbot.services.enums import Step
from chatbot.services.pdf import PdfDocument
from chatbot.services.pdf_fonts import Fonts
from chatbot.services.sla import whole_minutes
from chatbot.services.vocabulary import STEP_ACTIVITIES


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


def draw(sheet: ControlSheet, fonts: Fonts | None) -> bytes:
    """The sheet as PDF bytes; `fonts` None: the core font (text folded to Latin-1)."""
    pdf = _Sheet(sheet, fonts)
    pdf.add_page()
    _title(pdf)
    _request(pdf)
    _steps(pdf)
    _decisions(pdf)
    _late_steps(pdf)
    _documents(pdf)
    _audit_trail(pdf)
    _closing_note(pdf)
    return bytes(pdf.output())


def _title(pdf: _Sheet) -> None:
    sheet = pdf.sheet
    pdf.set_font(pdf.body, "B", 9)
    pdf.multi_cell(0, 4.5, pdf.clean(sheet.office.upper()), align="C", new_x=XPos.LMARGIN)
    pdf.set_font(pdf.body, size=8)
    pdf.multi_cell(0, 4, pdf.clean(sheet.sop_title), align="C", new_x=XPos.LMARGIN)
    pdf.ln(2)
    pdf.set_font(pdf.body, "B", 13)
    pdf.cell(0, 7, pdf.clean(f"LEMBAR KENDALI TIKET {sheet.number}"), align="C", new_x=XPos.LMARGIN)
    pdf.ln(8)


def _request(pdf: _Sheet) -> None:
    sheet, zone = pdf.sheet, pdf.zone_name()
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


def _steps(pdf: _Sheet) -> None:
    pdf.heading(
        f"B. Langkah SOP (waktu {pdf.zone_name()}; menit kerja, dibulatkan ke atas / waktu baku "
        "dalam menit; - : tanpa waktu baku)"
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
        for step in pdf.sheet.steps:
            row = table.row()
            row.cell(str(step.step))
            row.cell(pdf.clean(STEP_ACTIVITIES.get(Step(step.step), str(step.step))))
            row.cell(pdf.clean(step.actor))
            row.cell(pdf.when(step.started_at))
            row.cell(pdf.when(step.finished_at))
            row.cell(_minutes(step))
            row.cell(pdf.clean(step.outcome or "-"))
            row.cell(pdf.clean(step.note or "-"))


def _decision_lines(sheet: ControlSheet) -> list[str]:
    """The ticket's decisions and their reasons, one sentence each."""
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
    return decisions or ["Tidak ada catatan keputusan selain hasil tiap langkah di atas."]


def _decisions(pdf: _Sheet) -> None:
    pdf.heading("C. Keputusan dan alasan")
    for line in _decision_lines(pdf.sheet):
        pdf.paragraph(f"- {line}")


def _late_steps(pdf: _Sheet) -> None:
    pdf.heading("D. Penyimpangan waktu baku dan alasannya")
    late = [s for s in pdf.sheet.steps if s.late]
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


def _documents(pdf: _Sheet) -> None:
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
        for doc in pdf.sheet.documents:
            row = table.row()
            row.cell(pdf.clean(doc.file))
            row.cell(pdf.clean(doc.kind))
            row.cell(f"{doc.round}/{doc.page}")
            row.cell(f"{doc.size:,}".replace(",", "."))
            row.cell(doc.sha256, style=FontFace(family=pdf.mono, size_pt=6))
    if not pdf.sheet.documents:
        pdf.paragraph("Tidak ada dokumen.")


def _audit_trail(pdf: _Sheet) -> None:
    if not pdf.sheet.events:
        return
    pdf.heading("F. Ringkasan jejak audit")
    pdf.set_font(pdf.body, size=7.5)
    with pdf.table(col_widths=(30, 60, 96), line_height=3.8, padding=0.8) as table:
        header = table.row()
        for title in (f"Waktu ({pdf.zone_name()})", "Pelaku", "Tindakan"):
            header.cell(title)
        for event in pdf.sheet.events:
            row = table.row()
            row.cell(pdf.when(event.at))
            row.cell(pdf.clean(event.actor))
            row.cell(pdf.clean(event.action))


def _closing_note(pdf: _Sheet) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.body, size=7.5)
    pdf.paragraph(
        "Lembar ini dibuat otomatis oleh sistem pada langkah 9 (pengarsipan) dan disimpan "
        "bersama manifest.json dan dokumen asli. Memuat data pribadi (UU 27/2022): hanya untuk "
        "keperluan arsip SOP, jangan disebarluaskan."
    )
