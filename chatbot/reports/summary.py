"""The admin group's short summary of a month, in Telegram HTML."""

from __future__ import annotations

from html import escape

from chatbot.reports.facts import MonthReport
from chatbot.reports.labels import minutes, outside_line, percent, standard_label, tally_line, title


def summary_html(report: MonthReport) -> str:
    """The key figures in a few lines of Telegram HTML (<b> only, values escaped)."""
    finished, within = report.finished_steps, report.within_steps
    share = within / finished if finished else None
    unexplained = sum(1 for d in report.deviations if not d.explained)
    lines = [
        f"<b>{escape(title(report))}</b>",
        f"Permohonan: <b>{report.tickets}</b>"
        + (f" ({escape(tally_line(report.by_outcome))})" if report.tickets else ""),
        f"Langkah dalam standar: <b>{within} dari {finished}</b> ({percent(share)})",
        *(
            [f"Di luar jam kerja: <b>{escape(outside_line(report))}</b>, tidak dihitung di atas"]
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
