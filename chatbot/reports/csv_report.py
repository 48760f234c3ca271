"""A MonthReport as CSV, for further work.

Layout: one long ("tidy") table, `bulan,bagian,kunci,label,ukuran,nilai`, one fact per
row, so a spreadsheet's filter or a pivot (or pandas) can pick any part and months can be
stacked. `bagian` is ringkasan | jenis | peran | unit_kerja | hasil | langkah | penyimpangan
| luar_jam_kerja | insiden; `kunci` names the group (a stored value, a step number,
"<tiket>/<langkah>" or a ticket number); numbers use a dot and no thousands separator;
minutes are office minutes (wall-clock ones for work outside office hours); a step's
`standar_menit` is text ("5 / 10") when the month's records carried several standards;
times are ISO 8601 in the office zone. It is UTF-8 with a BOM so Excel reads the letters
right; with a locale whose list separator is ";" (Indonesian Windows) use the XLSX instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from chatbot.reports.facts import MonthReport
from chatbot.reports.labels import standard_value

CSV_HEADER = ("bulan", "bagian", "kunci", "label", "ukuran", "nilai")


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
            ("standar_menit", standard_value(s)),
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
