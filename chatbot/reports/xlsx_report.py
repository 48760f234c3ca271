"""A MonthReport as an XLSX workbook: one sheet per part, numbers as numbers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from chatbot.reports.facts import MonthReport
from chatbot.reports.labels import standard_value, title
from chatbot.services.timefmt import clock
from chatbot.services.vocabulary import OFFICE

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
            standard_value(s),
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
