"""A MonthReport as a PDF on A4 for the head of section, ending with the "Mengetahui" block.

PDF fonts: DejaVu Sans (TrueType) when installed (Debian: `fonts-dejavu-core`), so any
name prints as written; without it the PDF's core Helvetica is used and text is folded to
Latin-1 first (an accent Latin-1 has stays, "ā" becomes "a", anything else "?").
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from chatbot.reports.chart import chart_png
from chatbot.reports.facts import MonthReport, TicketLine
from chatbot.reports.labels import minutes, outside_line, percent, standard_label, title
from chatbot.reports.signer import Signer
from chatbot.services.identity import format_nip
from chatbot.services.pdf import PdfDocument
from chatbot.services.pdf_fonts import Fonts, find_fonts, latin1
from chatbot.services.timefmt import clock
from chatbot.services.vocabulary import OFFICE

DEFINITIONS = (
    "Waktu dihitung dalam menit jam kerja kantor (hari libur dan di luar jam kerja tidak "
    "dihitung). Median: nilai tengah. P90: persentil ke-90 peringkat terdekat, yaitu 90% "
    "langkah selesai dalam waktu itu atau lebih cepat. Dalam standar: waktu langkah tidak "
    "melebihi standar waktu SOP. Setiap tiket dihitung pada bulan pengajuannya. Langkah yang "
    "seluruhnya dikerjakan di luar jam kerja dihitung terpisah (di luar jam kerja) dengan "
    "waktu jam dinding, tidak sebagai 0 menit dalam standar. Bila standar waktu diubah dalam "
    "bulan ini, setiap langkah dinilai dengan standar yang berlaku saat langkah itu dimulai."
)
DOTS = "." * 40
PLACE = "Magelang"


class _Pdf(PdfDocument):
    def __init__(self, report: MonthReport, fonts: Fonts | None) -> None:
        super().__init__(
            fonts,
            margin=15,
            bottom=18,
            title=title(report) if fonts else latin1(title(report)),
            author=OFFICE if fonts else latin1(OFFICE),
        )
        self.report = report

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(self.body, "", 8)
        generated = clock(self.report.generated_at, self.report.zone)
        self.cell(0, 5, self.t(f"Dibuat {generated}"), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Halaman {self.page_no()} dari {{nb}}", align="R")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(self.body, "B", 12)
        self.multi_cell(0, 7, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.body, "", 9)

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font(self.body, "", size)
        self.multi_cell(0, 4.8, self.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float],
        align: Sequence[str],
        empty: str,
    ) -> None:
        if not rows:
            self.paragraph(empty)
            return
        self.set_font(self.body, "", 8.5)
        style = FontFace(emphasis="BOLD", fill_color=(225, 232, 240))
        with self.table(
            col_widths=tuple(widths),
            width=sum(widths),
            align="LEFT",
            text_align=tuple(align),
            headings_style=style,
            line_height=4.6,
            padding=1,
        ) as table:
            table.row([self.t(h) for h in headers])
            for row in rows:
                table.row([self.t(str(value)) for value in row])
        self.ln(1)


def to_pdf(
    report: MonthReport, *, unicode_font: bool = True, signer: Signer | None = None
) -> bytes:
    """The report on A4 for the head of section, ending with the "Mengetahui" block he or
    she signs (`unicode_font=False`: the core font)."""
    fonts = find_fonts() if unicode_font else None
    pdf = _Pdf(report, fonts)
    pdf.add_page()
    pdf.set_font(pdf.body, "", 9)
    pdf.multi_cell(0, 5, pdf.t(OFFICE), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.body, "B", 15)
    pdf.multi_cell(0, 8, pdf.t(title(report)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.paragraph(
        f"Periode: 1–{report.month.days} {report.month.label} (tiket menurut tanggal "
        f"pengajuan). Dibuat {clock(report.generated_at, report.zone)}."
    )
    _pdf_summary(pdf, report)
    _pdf_steps(pdf, report)
    _pdf_deviations(pdf, report)
    _pdf_outside(pdf, report)
    _pdf_incidents(pdf, report)
    _pdf_tickets(pdf, report)
    pdf.heading("Keterangan")
    pdf.paragraph(DEFINITIONS, size=8)
    _pdf_signature(pdf, signer or Signer())
    return bytes(pdf.output())


def _pdf_summary(pdf: _Pdf, report: MonthReport) -> None:
    finished, within = report.finished_steps, report.within_steps
    unexplained = sum(not d.explained for d in report.deviations)
    pdf.heading("Ringkasan")
    pdf.paragraph(
        f"Permohonan: {report.tickets}. Langkah selesai dalam standar waktu: {within} dari "
        f"{finished} ({percent(within / finished if finished else None)}). Penyimpangan: "
        f"{len(report.deviations)} ({unexplained} belum dijelaskan). Insiden “Bukan saya”: "
        f"{sum(i.count for i in report.incidents)}."
        + (
            f" Dikerjakan di luar jam kerja (tidak dihitung dalam standar): {outside_line(report)}."
            if report.outside_steps
            else ""
        )
    )
    pdf.ln(1)
    for heading, tallies in (
        ("Jenis permohonan", report.by_type),
        ("Peran", report.by_role),
        ("Hasil", report.by_outcome),
        ("Unit kerja", report.by_unit),
    ):
        pdf.grid(
            [heading, "Jumlah"],
            [[t.label, t.count] for t in tallies],
            (70, 20),
            ("LEFT", "RIGHT"),
            f"{heading}: tidak ada permohonan.",
        )


def _pdf_steps(pdf: _Pdf, report: MonthReport) -> None:
    pdf.heading("Waktu per langkah SOP (menit jam kerja)")
    pdf.grid(
        [
            "Langkah",
            "Kegiatan",
            "Standar",
            "Selesai",
            "Median",
            "P90",
            "Dalam standar",
            "Di luar jam kerja",
        ],
        [
            [
                s.step,
                s.activity,
                standard_label(s),
                s.finished,
                minutes(s.median_minutes),
                minutes(s.p90_minutes),
                f"{s.within} ({percent(s.share_within)})" if s.finished else "–",
                s.outside,
            ]
            for s in report.steps
        ],
        (16, 48, 18, 15, 16, 16, 28, 23),
        ("CENTER", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        "Tidak ada langkah dengan standar waktu.",
    )
    if pdf.will_page_break(100):
        pdf.add_page()
    pdf.image(io.BytesIO(chart_png(report)), w=170)


def _pdf_deviations(pdf: _Pdf, report: MonthReport) -> None:
    pdf.heading("Penyimpangan dari standar waktu")
    pdf.grid(
        ["No. tiket", "Langkah", "Pelaksana", "Menit", "Standar", "Alasan"],
        [
            [
                d.number,
                f"{d.step}. {d.activity}",
                d.actor,
                minutes(d.office_minutes),
                d.standard_minutes,
                d.reason + (f" ({d.reason_by})" if d.reason_by else ""),
            ]
            for d in report.deviations
        ],
        (21, 37, 28, 14, 17, 63),
        ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "LEFT"),
        "Tidak ada langkah yang melebihi standar waktu.",
    )


def _pdf_outside(pdf: _Pdf, report: MonthReport) -> None:
    if not report.outside:
        return
    pdf.heading("Dikerjakan di luar jam kerja (waktu jam dinding)")
    pdf.grid(
        ["No. tiket", "Langkah", "Pelaksana", "Menit", "Standar", "Selesai pada"],
        [
            [
                o.number,
                f"{o.step}. {o.activity}",
                o.actor,
                minutes(o.wall_minutes),
                "–" if o.standard_minutes is None else o.standard_minutes,
                clock(o.finished_at, report.zone),
            ]
            for o in report.outside
        ],
        (21, 45, 35, 16, 17, 46),
        ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "LEFT"),
        "",
    )


def _ticket_work(line: TicketLine) -> str:
    """E.g. "12,0" or "12,0 + 35,0 di luar jam kerja"."""
    work = minutes(line.office_minutes) if line.steps or not line.outside else ""
    if line.outside:
        outside = f"{minutes(line.outside_minutes)} di luar jam kerja"
        work = f"{work} + {outside}" if work else outside
    return work


def _pdf_tickets(pdf: _Pdf, report: MonthReport) -> None:
    pdf.heading("Daftar tiket")
    pdf.grid(
        ["No. tiket", "Diajukan", "Jenis / peran", "Unit kerja", "Hasil", "Menit kerja", "Lewat"],
        [
            [
                line.number,
                clock(line.submitted_at, report.zone),
                f"{line.request_type} ({line.role})",
                line.work_unit,
                line.outcome,
                _ticket_work(line),
                line.late,
            ]
            for line in report.ticket_lines
        ],
        (20, 25, 37, 34, 26, 26, 12),
        ("LEFT", "LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        "Tidak ada permohonan pada bulan ini.",
    )
    pdf.paragraph(
        "Menit kerja: jumlah waktu jam kerja langkah petugas yang selesai (yang dikerjakan di "
        "luar jam kerja ditulis terpisah, waktu jam dinding). Lewat: langkah yang melebihi "
        "standar waktu.",
        size=7.5,
    )


def _pdf_signature(pdf: _Pdf, signer: Signer) -> None:
    """The "Mengetahui" block at the right, kept on one page; blanks as dotted lines."""
    if pdf.will_page_break(52):
        pdf.add_page()
    pdf.ln(8)
    left, width = 110.0, 85.0
    lines = [
        ("", f"{PLACE}, {DOTS[:25]}"),
        ("", "Mengetahui,"),
        ("", signer.title.strip() or DOTS),
        ("gap", ""),
        ("B", signer.name.strip() or f"({DOTS})"),
        ("", f"NIP. {format_nip(signer.nip.strip()) if signer.nip.strip() else DOTS[:30]}"),
    ]
    for style, text in lines:
        if style == "gap":
            pdf.ln(18)
            continue
        pdf.set_font(pdf.body, style, 9.5)
        pdf.set_x(left)
        pdf.multi_cell(width, 5, pdf.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _pdf_incidents(pdf: _Pdf, report: MonthReport) -> None:
    pdf.heading("Insiden “Bukan saya” (tautan dibuka orang lain)")
    pdf.grid(
        ["No. tiket", "Jumlah", "Unit kerja", "Dilaporkan"],
        [
            [i.number, i.count, i.work_unit, clock(i.reported_at, report.zone)]
            for i in report.incidents
        ],
        (25, 18, 85, 45),
        ("LEFT", "RIGHT", "LEFT", "LEFT"),
        "Tidak ada insiden.",
    )
