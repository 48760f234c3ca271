"""A MonthReport as files: CSV and XLSX for further work, a PDF for the head of section, a
PNG chart for the admin group, and a short Telegram HTML summary.

CSV layout: one long ("tidy") table, `bulan,bagian,kunci,label,ukuran,nilai`, one fact per
row, so a spreadsheet's filter or a pivot (or pandas) can pick any part and months can be
stacked. `bagian` is ringkasan | jenis | peran | unit_kerja | hasil | langkah | penyimpangan
| luar_jam_kerja | insiden; `kunci` names the group (a stored value, a step number,
"<tiket>/<langkah>" or a ticket number); numbers use a dot and no thousands separator;
minutes are office minutes (wall-clock ones for work outside office hours); a step's
`standar_menit` is text ("5 / 10") when the month's records carried several standards;
times are ISO 8601 in the office zone. It is UTF-8 with a BOM so Excel reads the letters
right; with a locale whose list separator is ";" (Indonesian Windows) use the XLSX instead.

PDF fonts: DejaVu Sans (TrueType) when installed (Debian: `fonts-dejavu-core`), so any
name prints as written; without it the PDF's core Helvetica is used and text is folded to
Latin-1 first (an accent Latin-1 has stays, "ā" becomes "a", anything else "?").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from chatbot.reports.figures import MonthReport, StepFigures, Tally, TicketLine
from chatbot.services.identity import format_nip
from chatbot.services.pdf import PdfDocument
from chatbot.services.pdf_fonts import Fonts, find_fonts, latin1
from chatbot.services.sla import whole_minutes
from chatbot.services.timefmt import clock
from chatbot.services.vocabulary import BOT_NAME, OFFICE

CSV_HEADER = ("bulan", "bagian", "kunci", "label", "ukuran", "nilai")
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
CHART_NAMES = {
    2: "Kelengkapan",
    3: "Minta\nlengkapi",
    5: "Keabsahan",
    6: "Reset\nSPSE",
    7: "Penolakan",
    8: "Penyampaian\nhasil",
    9: "Arsip",
}


@dataclass(frozen=True)
class Signer:
    """The head of section who signs "Mengetahui" (REPORT_SIGNER_*); a blank part is left as
    a dotted line to fill in by hand."""

    title: str = ""
    name: str = ""
    nip: str = ""


def title(report: MonthReport) -> str:
    return f"Laporan {BOT_NAME} — {report.month.label}"


def standard_label(s: StepFigures) -> str:
    """The step's standard in minutes; each one when the month's records carried several
    ("5 / 10"); "–" where the SOP has none."""
    return " / ".join(str(m) for m in s.standards) if s.standards else "–"


def _standard_value(s: StepFigures) -> object:
    """For spreadsheets: a number when there is one standard, else the label."""
    return s.standards[0] if len(s.standards) == 1 else (standard_label(s) if s.standards else None)


def _outside_line(report: MonthReport) -> str:
    """E.g. "2 langkah (35,0 menit jam dinding)"."""
    wall = sum(o.wall_minutes for o in report.outside)
    return f"{report.outside_steps} langkah ({minutes(wall)} menit jam dinding)"


def minutes(value: float | None) -> str:
    """Office minutes for people, rounded as everywhere else (`whole_minutes`); "–" when none.

    CSV and XLSX keep the exact values for further work."""
    return "–" if value is None else str(whole_minutes(value * 60))


def percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def _tally_line(tallies: Sequence[Tally]) -> str:
    return ", ".join(f"{t.label} {t.count}" for t in tallies if t.count)


# ---- summary (Telegram HTML) ----------------------------------------------------------------


def summary_html(report: MonthReport) -> str:
    """The key figures in a few lines of Telegram HTML (<b> only, values escaped)."""
    finished, within = report.finished_steps, report.within_steps
    share = within / finished if finished else None
    unexplained = sum(1 for d in report.deviations if not d.explained)
    lines = [
        f"<b>{escape(title(report))}</b>",
        f"Permohonan: <b>{report.tickets}</b>"
        + (f" ({escape(_tally_line(report.by_outcome))})" if report.tickets else ""),
        f"Langkah dalam standar: <b>{within} dari {finished}</b> ({percent(share)})",
        *(
            [f"Di luar jam kerja: <b>{escape(_outside_line(report))}</b>, tidak dihitung di atas"]
            if report.outside_steps
            else []
        ),
        f"Penyimpangan: <b>{len(report.deviations)}</b>, {unexplained} belum dijelaskan",
        f"Insiden “Bukan saya”: <b>{sum(i.count for i in report.incidents)}</b>",
        "",
        "Waktu per langkah, menit kerja (median / P90; standar):",
    ]
    for s in report.steps:
        if s.finished:
            lines.append(
                f"L{s.step} {escape(s.activity)}: {minutes(s.median_minutes)} / "
                f"{minutes(s.p90_minutes)} ({standard_label(s)}); "
                f"{percent(s.share_within)} dalam standar"
                + (f"; {s.outside} di luar jam kerja" if s.outside else "")
            )
        elif s.outside:
            lines.append(f"L{s.step} {escape(s.activity)}: {s.outside} di luar jam kerja")
        else:
            lines.append(f"L{s.step} {escape(s.activity)}: belum ada data")
    return "\n".join(lines)


# ---- CSV --------------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else f"{round(value, 2):g}"


def _csv_rows(report: MonthReport) -> Iterator[tuple[str, str, str, str, object]]:
    """(bagian, kunci, label, ukuran, nilai) facts."""
    zone = report.zone
    yield "ringkasan", "tiket", "Jumlah permohonan", "jumlah", report.tickets
    yield "ringkasan", "langkah", "Langkah selesai", "jumlah", report.finished_steps
    yield "ringkasan", "langkah", "Langkah dalam standar", "dalam_standar", report.within_steps
    yield (
        "ringkasan",
        "langkah",
        "Langkah di luar jam kerja",
        "luar_jam_kerja",
        report.outside_steps,
    )
    yield "ringkasan", "penyimpangan", "Penyimpangan", "jumlah", len(report.deviations)
    yield "ringkasan", "insiden", "Insiden", "jumlah", sum(i.count for i in report.incidents)
    for part, tallies in (
        ("jenis", report.by_type),
        ("peran", report.by_role),
        ("unit_kerja", report.by_unit),
        ("hasil", report.by_outcome),
    ):
        for t in tallies:
            yield part, t.key, t.label, "jumlah", t.count
    for s in report.steps:
        share = None if s.share_within is None else s.share_within * 100
        for measure, value in (
            ("standar_menit", _standard_value(s)),
            ("selesai", s.finished),
            ("median_menit", _number(s.median_minutes)),
            ("p90_menit", _number(s.p90_minutes)),
            ("dalam_standar", s.within),
            ("persen_dalam_standar", _number(share)),
            ("luar_jam_kerja", s.outside),
        ):
            yield "langkah", str(s.step), s.activity, measure, "" if value is None else value
    for d in report.deviations:
        key = f"{d.number}/{d.step}"
        for measure, value in (
            ("nomor_tiket", d.number),
            ("langkah", d.step),
            ("pelaksana", d.actor),
            ("menit_kerja", _number(d.office_minutes)),
            ("standar_menit", d.standard_minutes),
            ("alasan", d.reason),
            ("dijelaskan_oleh", d.reason_by or ""),
            ("selesai_pada", d.finished_at.astimezone(zone).isoformat(timespec="minutes")),
        ):
            yield "penyimpangan", key, d.activity, measure, value
    for o in report.outside:
        key = f"{o.number}/{o.step}"
        for measure, value in (
            ("nomor_tiket", o.number),
            ("langkah", o.step),
            ("pelaksana", o.actor),
            ("menit_jam_dinding", _number(o.wall_minutes)),
            ("standar_menit", "" if o.standard_minutes is None else o.standard_minutes),
            ("selesai_pada", o.finished_at.astimezone(zone).isoformat(timespec="minutes")),
        ):
            yield "luar_jam_kerja", key, o.activity, measure, value
    for i in report.incidents:
        yield "insiden", i.number, i.work_unit, "jumlah", i.count
        reported = i.reported_at.astimezone(zone).isoformat(timespec="minutes")
        yield "insiden", i.number, i.work_unit, "dilaporkan_pada", reported


# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    """Typed text (a work unit, a reason) as text: a leading quote keeps it from running."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def to_csv(report: MonthReport) -> bytes:
    """The long table described in the module docstring, UTF-8 with a BOM."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in _csv_rows(report):
        writer.writerow((report.month.key, *(_inert(value) for value in row)))
    return out.getvalue().encode("utf-8-sig")


# ---- XLSX -------------------------------------------------------------------------------------

_MINUTES_FORMAT = "0.0"
_PERCENT_FORMAT = "0%"
_DATETIME_FORMAT = "dd/mm/yyyy hh:mm"


def _local(moment: datetime, report: MonthReport) -> datetime:
    """Excel has no time zones: the office's wall clock, naive."""
    return moment.astimezone(report.zone).replace(tzinfo=None)


def _table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    formats: dict[int, str] | None = None,
) -> None:
    """A header row (bold, frozen below) and data rows from the sheet's next row on."""
    sheet.append(list(headers))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
        for column, number_format in (formats or {}).items():
            sheet.cell(sheet.max_row, column).number_format = number_format


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _summary_sheet(sheet: Worksheet, report: MonthReport) -> None:
    sheet.title = "Ringkasan"
    sheet.append([title(report)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([OFFICE])
    sheet.append(["Dibuat", clock(report.generated_at, report.zone)])
    sheet.append([])
    finished, within = report.finished_steps, report.within_steps
    _table(
        sheet,
        ["Ukuran", "Nilai"],
        [
            ["Jumlah permohonan", report.tickets],
            ["Langkah selesai", finished],
            ["Langkah dalam standar", within],
            ["Langkah dalam standar (%)", within / finished if finished else None],
            ["Langkah di luar jam kerja", report.outside_steps],
            ["Penyimpangan", len(report.deviations)],
            ["Penyimpangan belum dijelaskan", sum(not d.explained for d in report.deviations)],
            ["Insiden “Bukan saya”", sum(i.count for i in report.incidents)],
        ],
    )
    sheet.cell(sheet.max_row - 4, 2).number_format = _PERCENT_FORMAT
    for heading, tallies in (
        ("Jenis permohonan", report.by_type),
        ("Peran", report.by_role),
        ("Unit kerja", report.by_unit),
        ("Hasil", report.by_outcome),
    ):
        sheet.append([])
        _table(sheet, [heading, "Jumlah"], [[t.label, t.count] for t in tallies])
    _widths(sheet, (42, 22))


def _steps_sheet(sheet: Worksheet, report: MonthReport) -> None:
    headers = (
        "Langkah",
        "Kegiatan",
        "Standar (menit)",
        "Selesai",
        "Median (menit)",
        "P90 (menit)",
        "Dalam standar",
        "Dalam standar (%)",
        "Di luar jam kerja",
    )
    rows = [
        [
            s.step,
            s.activity,
            _standard_value(s),
            s.finished,
            s.median_minutes,
            s.p90_minutes,
            s.within,
            s.share_within,
            s.outside,
        ]
        for s in report.steps
    ]
    formats = {5: _MINUTES_FORMAT, 6: _MINUTES_FORMAT, 8: _PERCENT_FORMAT}
    _table(sheet, headers, rows, formats)
    _widths(sheet, (9, 32, 15, 9, 15, 12, 14, 18, 17))
    sheet.freeze_panes = "A2"


def _deviations_sheet(sheet: Worksheet, report: MonthReport) -> None:
    headers = (
        "No. tiket",
        "Langkah",
        "Kegiatan",
        "Pelaksana",
        "Waktu (menit kerja)",
        "Standar (menit)",
        "Alasan",
        "Dijelaskan oleh",
        "Selesai pada",
    )
    rows = [
        [
            d.number,
            d.step,
            d.activity,
            d.actor,
            d.office_minutes,
            d.standard_minutes,
            d.reason,
            d.reason_by or "",
            _local(d.finished_at, report),
        ]
        for d in report.deviations
    ]
    _table(sheet, headers, rows, {5: _MINUTES_FORMAT, 9: _DATETIME_FORMAT})
    _widths(sheet, (12, 9, 28, 20, 18, 15, 50, 20, 17))
    for row in sheet.iter_rows(min_row=2, min_col=7, max_col=7):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def _tickets_sheet(sheet: Worksheet, report: MonthReport) -> None:
    headers = (
        "No. tiket",
        "Diajukan",
        "Jenis",
        "Peran",
        "Unit kerja",
        "Hasil",
        "Langkah selesai",
        "Waktu (menit kerja)",
        "Melebihi standar",
        "Di luar jam kerja",
        "Di luar jam kerja (menit jam dinding)",
        "Pelaksana",
    )
    rows = [
        [
            line.number,
            _local(line.submitted_at, report),
            line.request_type,
            line.role,
            line.work_unit,
            line.outcome,
            line.steps,
            line.office_minutes,
            line.late,
            line.outside,
            line.outside_minutes,
            ", ".join(line.actors),
        ]
        for line in report.ticket_lines
    ]
    _table(sheet, headers, rows, {2: _DATETIME_FORMAT, 8: _MINUTES_FORMAT, 11: _MINUTES_FORMAT})
    _widths(sheet, (12, 17, 30, 20, 30, 28, 15, 18, 16, 16, 20, 30))
    sheet.freeze_panes = "A2"


def _outside_sheet(sheet: Worksheet, report: MonthReport) -> None:
    headers = (
        "No. tiket",
        "Langkah",
        "Kegiatan",
        "Pelaksana",
        "Waktu (menit jam dinding)",
        "Standar (menit)",
        "Mulai",
        "Selesai pada",
    )
    rows = [
        [
            o.number,
            o.step,
            o.activity,
            o.actor,
            o.wall_minutes,
            o.standard_minutes,
            _local(o.started_at, report),
            _local(o.finished_at, report),
        ]
        for o in report.outside
    ]
    formats = {5: _MINUTES_FORMAT, 7: _DATETIME_FORMAT, 8: _DATETIME_FORMAT}
    _table(sheet, headers, rows, formats)
    _widths(sheet, (12, 9, 28, 20, 22, 15, 17, 17))
    sheet.freeze_panes = "A2"


def _incidents_sheet(sheet: Worksheet, report: MonthReport) -> None:
    headers = ("No. tiket", "Jumlah insiden", "Unit kerja", "Dilaporkan pada")
    rows = [
        [i.number, i.count, i.work_unit, _local(i.reported_at, report)] for i in report.incidents
    ]
    _table(sheet, headers, rows, {4: _DATETIME_FORMAT})
    _widths(sheet, (12, 15, 40, 17))
    sheet.freeze_panes = "A2"


def to_xlsx(report: MonthReport) -> bytes:
    """A workbook with sheets Ringkasan, Tiket (one row per ticket), Langkah, Penyimpangan,
    Luar jam kerja, Insiden; numbers as numbers (minutes as office minutes, shares as
    fractions shown as %)."""
    book = Workbook()
    assert book.active is not None
    _summary_sheet(book.active, report)
    _tickets_sheet(book.create_sheet("Tiket"), report)
    _steps_sheet(book.create_sheet("Langkah"), report)
    _deviations_sheet(book.create_sheet("Penyimpangan"), report)
    _outside_sheet(book.create_sheet("Luar jam kerja"), report)
    _incidents_sheet(book.create_sheet("Insiden"), report)
    out = io.BytesIO()
    for sheet in book.worksheets:  # typed text (a work unit, a reason) is never a formula
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    book.save(out)
    return out.getvalue()


# ---- chart (PNG) ------------------------------------------------------------------------------


def chart_png(report: MonthReport) -> bytes:
    """Median and P90 bars per step against each step's standard, readable on a phone.

    A bar far above every standard (a step left for days) would flatten the others, so the
    axis stops at 4x the largest standard and such a bar is cut there, its value written on
    top.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = report.steps
    figure = Figure(figsize=(8, 5), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(steps)))
    standards = [max(s.standards, default=0) for s in steps]
    values = [v for s in steps for v in (s.median_minutes, s.p90_minutes) if v is not None]
    top = max([*standards, *values, 1.0]) * 1.15
    limit = 4 * max([*standards, 1])
    top = min(top, limit * 1.15)
    width = 0.38
    for offset, label, color, pick in (
        (-width / 2, "Median", "#2b6cb0", _median),
        (width / 2, "P90", "#dd8a2e", _p90),
    ):
        heights = [pick(s) or 0.0 for s in steps]
        xs = [p + offset for p in positions]
        bars = axes.bar(xs, [min(h, limit) for h in heights], width, label=label, color=color)
        for bar, height in zip(bars, heights, strict=True):
            middle = bar.get_x() + bar.get_width() / 2
            if height > limit:  # cut: hatched, the real value written down inside
                bar.set_hatch("//")
                axes.annotate(
                    f"{height:.0f} ▲", (middle, limit * 0.98), ha="center", va="top",
                    rotation=90, fontsize=10, color="white", fontweight="bold",
                )  # fmt: skip
            elif height:
                axes.annotate(
                    minutes(height), (middle, height), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", zorder=5,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                )  # fmt: skip
    legend = "Standar SOP"
    for position, s in zip(positions, steps, strict=True):
        for standard in s.standards or (0,):  # each standard the month's records carried
            axes.hlines(
                standard,
                position - 0.48,
                position + 0.48,
                colors="#c53030",
                linewidth=2.5,
                zorder=3,
                label=legend,
            )
            legend = "_nolegend_"
    for position, s in zip(positions, steps, strict=True):
        if not s.finished:
            axes.annotate("tidak ada\ndata", (position, 0), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(positions, [f"L{s.step}\n{CHART_NAMES.get(s.step, '')}" for s in steps])
    axes.tick_params(labelsize=10)
    axes.set_ylim(0, top)
    axes.set_ylabel("menit jam kerja", fontsize=11)
    axes.set_title(f"Waktu per langkah SOP — {report.month.label}", fontsize=13)
    axes.legend(fontsize=10, loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _median(s: StepFigures) -> float | None:
    return s.median_minutes


def _p90(s: StepFigures) -> float | None:
    return s.p90_minutes


# ---- PDF --------------------------------------------------------------------------------------


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
            f" Dikerjakan di luar jam kerja (tidak dihitung dalam standar): "
            f"{_outside_line(report)}."
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
