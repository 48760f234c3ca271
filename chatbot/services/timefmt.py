"""How dates and moments are written for people (chat, report): "23 Nov 2026 pukul 14.05 WIB"."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
MONTH_NAMES = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def clock(moment: datetime, zone: ZoneInfo) -> str:
    """E.g. "23 Nov 2026 pukul 14.05 WIB" (the zone's own abbreviation: WIB, WITA or WIT).

    The one way a moment is written in a sentence: the date, then "pukul" and the time, so
    the sentence around it never adds "pukul" itself ("dibuka 23 Nov 2026 pukul 14.05 WIB").
    """
    local = moment.astimezone(zone)
    return f"{day_text(local.date())} pukul {local:%H.%M} {local.tzname() or zone.key}"


def day_text(day: date) -> str:
    """E.g. "23 Nov 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
