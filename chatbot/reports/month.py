"""A calendar month in the office's time zone, as `/laporan` and `chatbot report` name it."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from chatbot.services.timefmt import MONTH_NAMES

MONTH_FORMAT_ERROR = "Bulan harus berformat YYYY-MM, mis. 2026-11."
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


@dataclass(frozen=True)
class Month:
    """A calendar month in the office's time zone."""

    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """E.g. "November 2026"."""
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in UTC."""
        after = Month(self.year + self.month // 12, self.month % 12 + 1)
        start = datetime(self.year, self.month, 1, tzinfo=zone)
        end = datetime(after.year, after.month, 1, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def parse_month(text: str) -> Month:
    """'2026-11' -> Month; anything else -> ValueError with a message for the user."""
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise ValueError(MONTH_FORMAT_ERROR)
    return Month(int(match[1]), int(match[2]))


def previous_month(now: datetime, zone: ZoneInfo) -> Month:
    """The calendar month before the one `now` falls in, in the office's zone."""
    local = now.astimezone(zone)
    return Month(local.year, local.month - 1) if local.month > 1 else Month(local.year - 1, 12)
