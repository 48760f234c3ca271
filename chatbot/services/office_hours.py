"""Office hours: the SOP's time standards count working time only.

A request sent on Saturday night starts its clock on Monday at opening time; a 10-minute
step begun at 15:55 on a Thursday is due at 07:35 on Friday (or on Monday, when that Friday
is a holiday). Holidays are Indonesia's national holidays and collective leave days (cuti
bersama) from the `holidays` package, plus the dates the operator adds.

Every datetime in and out is timezone-aware; the arithmetic runs on the office's wall clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEK = "mon-thu 07:30-16:00, fri 07:30-16:30"
# A calendar with no working day for this long is a configuration error, not a long wait.
_SEARCH_DAYS = 400

_PART = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{1,2}[:.]\d{2})\s*-\s*(?P<closes>\d{1,2}[:.]\d{2})\s*$"
)


@dataclass(frozen=True)
class Hours:
    opens: time
    closes: time


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in re.split(r"[:.]", text))
    if hours == 24 and minutes == 0:
        raise ValueError("use 23:59 at the latest")
    return time(hours, minutes)


def parse_time(text: str) -> time:
    """'10:00' or '10.00' -> that time of day."""
    if not re.fullmatch(r"\s*\d{1,2}[:.]\d{2}\s*", text):
        raise ValueError(f"cannot read {text!r}; write a time like 10:00")
    try:
        return _clock(text.strip())
    except ValueError as exc:
        raise ValueError(f"cannot read {text!r}: {exc}") from None


def parse_week(text: str) -> dict[int, Hours]:
    """'mon-thu 07:30-16:00, fri 07:30-16:30' -> {weekday (0 = Monday): Hours}."""
    week: dict[int, Hours] = {}
    for part in re.split(r"[,;]", text.lower()):
        if not part.strip():
            continue
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"cannot read {part.strip()!r}; write e.g. mon-thu 07:30-16:00")
        try:
            first = DAY_NAMES.index(match["first"])
            last = DAY_NAMES.index(match["last"] or match["first"])
            hours = Hours(_clock(match["opens"]), _clock(match["closes"]))
        except ValueError as exc:
            raise ValueError(f"cannot read {part.strip()!r}: {exc}") from None
        if hours.closes <= hours.opens:
            raise ValueError(f"{part.strip()!r}: closing time must be after opening time")
        if last < first:
            raise ValueError(f"{part.strip()!r}: the day range must run forward (mon-fri)")
        for day in range(first, last + 1):
            if day in week:
                raise ValueError(f"{DAY_NAMES[day]} is given twice")
            week[day] = hours
    if not week:
        raise ValueError("at least one working day is needed")
    return week


def parse_dates(text: str) -> frozenset[date]:
    """'2026-12-24, 2026-12-31' -> those dates (the operator's own days off)."""
    days = set()
    for part in re.split(r"[,;\s]+", text.strip()):
        if part:
            try:
                days.add(date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a date like 2026-12-24") from None
    return frozenset(days)


class OfficeCalendar:
    """Working days and hours in one time zone, minus holidays."""

    def __init__(
        self,
        zone: ZoneInfo,
        week: Mapping[int, Hours] | None = None,
        extra_holidays: Iterable[date] = (),
        national_holidays: bool = True,
    ) -> None:
        self.zone = zone
        self.week = dict(week if week is not None else parse_week(DEFAULT_WEEK))
        if not self.week:
            raise ValueError("at least one working day is needed")
        self._extra = frozenset(extra_holidays)
        # Expands to each year on first use; names in Indonesian.
        self._national: holidays.HolidayBase | None = (
            holidays.country_holidays("ID", categories=("public", "government"), language="id")
            if national_holidays
            else None
        )

    # ---- days -----------------------------------------------------------------------------

    def holiday(self, day: date) -> str | None:
        """The holiday's name on that day, or None."""
        if day in self._extra:
            return "Libur kantor"
        if self._national is not None:
            name = self._national.get(day)
            if name:
                return str(name)
        return None

    def hours_on(self, day: date) -> Hours | None:
        """That day's office hours; None when the office is closed all day."""
        hours = self.week.get(day.weekday())
        if hours is None or self.holiday(day) is not None:
            return None
        return hours

    def _period(self, day: date) -> tuple[datetime, datetime] | None:
        """That day's open period in UTC, or None.

        The period is the one instant range [opening, closing) that `is_open`, `add` and
        `between` all use. Where daylight saving time moves the clock, a wall time that does
        not exist counts from the hour after the gap and a repeated wall time from its first
        occurrence; a period that the change leaves empty is no period (opening 02:30 and
        closing 03:15 on the night the clock jumps from 02:00 to 03:00).
        """
        hours = self.hours_on(day)
        if hours is None:
            return None
        opens = datetime.combine(day, hours.opens, self.zone).astimezone(UTC)
        closes = datetime.combine(day, hours.closes, self.zone).astimezone(UTC)
        return (opens, closes) if opens < closes else None

    def _periods(self, local_day: date) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC) from that day on; a long run of closed days is an error."""
        day, closed = local_day, 0
        while closed < _SEARCH_DAYS:
            period = self._period(day)
            if period is None:
                closed += 1
            else:
                closed = 0
                yield period
            day += timedelta(days=1)
        raise ValueError(f"no working day within {_SEARCH_DAYS} days after {day}")

    def _local_day(self, at: datetime) -> date:
        return _aware(at).astimezone(self.zone).date()

    # ---- instants -------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = _aware(at)
        period = self._period(self._local_day(at))
        return period is not None and period[0] <= at < period[1]

    def next_open(self, at: datetime) -> datetime:
        """`at` itself while the office is open, else the next opening time (UTC)."""
        at = _aware(at).astimezone(UTC)
        for opens, closes in self._periods(self._local_day(at)):
            if at < closes:
                return max(at, opens)
        raise AssertionError("unreachable")  # _periods raises first

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """When `duration` of office time has passed since `start` (a step's deadline)."""
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        at = _aware(start).astimezone(UTC)
        left = duration
        for opens, closes in self._periods(self._local_day(at)):
            if at >= closes:
                continue
            begin = max(at, opens)
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Office time from `start` to `end` (zero when end is not after start)."""
        start, end = _aware(start).astimezone(UTC), _aware(end).astimezone(UTC)
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            period = self._period(day)
            if period is not None:
                begin, finish = max(start, period[0]), min(end, period[1])
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total


def _aware(at: datetime) -> datetime:
    """Naive datetimes are UTC (the database's SQLite columns hand them back that way)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
