"""How the report's figures read in every format: the title, minutes, shares, standards."""

from __future__ import annotations

from collections.abc import Sequence

from chatbot.reports.facts import MonthReport, StepFigures, Tally
from chatbot.services.sla import whole_minutes
from chatbot.services.vocabulary import BOT_NAME


def title(report: MonthReport) -> str:
    return f"Laporan {BOT_NAME} — {report.month.label}"


def standard_label(s: StepFigures) -> str:
    """The step's standard in minutes; each one when the month's records carried several
    ("5 / 10"); "–" where the SOP has none."""
    return " / ".join(str(m) for m in s.standards) if s.standards else "–"


def standard_value(s: StepFigures) -> object:
    """For spreadsheets: a number when there is one standard, else the label."""
    return s.standards[0] if len(s.standards) == 1 else (standard_label(s) if s.standards else None)


def outside_line(report: MonthReport) -> str:
    """E.g. "2 langkah (35,0 menit jam dinding)"."""
    wall = sum(o.wall_minutes for o in report.outside)
    return f"{report.outside_steps} langkah ({minutes(wall)} menit jam dinding)"


def minutes(value: float | None) -> str:
    """Office minutes for people, rounded as everywhere else (`whole_minutes`); "–" when none.

    CSV and XLSX keep the exact values for further work."""
    return "–" if value is None else str(whole_minutes(value * 60))


def percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def tally_line(tallies: Sequence[Tally]) -> str:
    return ", ".join(f"{t.label} {t.count}" for t in tallies if t.count)
