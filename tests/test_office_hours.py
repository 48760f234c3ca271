"""Office hours: the SOP's clock counts working time only (Asia/Jakarta, national holidays,
cuti bersama and the operator's own days off are closed).

Examples first, with literal expected values; then properties of the arithmetic over random
instants, durations, weeks and holidays (hypothesis, derandomized for CI).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.services.office_hours import (
    DAY_NAMES,
    DEFAULT_WEEK,
    Hours,
    OfficeCalendar,
    parse_dates,
    parse_week,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
CAL = OfficeCalendar(JAKARTA)  # the default week with national holidays and cuti bersama


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


# ---- examples: the default calendar ---------------------------------------------------------


def test_default_week() -> None:
    assert parse_week(DEFAULT_WEEK) == {
        0: Hours(time(7, 30), time(16)),
        1: Hours(time(7, 30), time(16)),
        2: Hours(time(7, 30), time(16)),
        3: Hours(time(7, 30), time(16)),
        4: Hours(time(7, 30), time(16, 30)),
    }
    assert CAL.week == parse_week(DEFAULT_WEEK)


def test_saturday_night_request_starts_on_monday_morning() -> None:
    saturday_night = wib(2026, 6, 6, 21, 14)  # Saturday
    assert saturday_night.strftime("%a") == "Sat"
    assert not CAL.is_open(saturday_night)
    assert CAL.next_open(saturday_night) == wib(2026, 6, 8, 7, 30)
    assert CAL.add(saturday_night, timedelta(0)) == wib(2026, 6, 8, 7, 30)
    assert CAL.add(saturday_night, minutes(5)) == wib(2026, 6, 8, 7, 35)
    assert CAL.between(saturday_night, wib(2026, 6, 8, 7, 35)) == minutes(5)


def test_results_are_aware_utc_instants() -> None:
    due = CAL.add(wib(2026, 6, 6, 21), minutes(5))
    assert due.tzinfo is UTC
    assert due == datetime(2026, 6, 8, 0, 35, tzinfo=UTC)  # 07:35 WIB = 00:35 UTC


def test_thursday_before_closing_runs_into_friday() -> None:
    assert CAL.add(wib(2026, 6, 4, 15, 55), minutes(10)) == wib(2026, 6, 5, 7, 35)
    # The same step five minutes earlier fits into Thursday exactly: closing time itself.
    assert CAL.add(wib(2026, 6, 4, 15, 50), minutes(10)) == wib(2026, 6, 4, 16, 0)


def test_friday_closes_at_half_past_four() -> None:
    assert CAL.add(wib(2026, 6, 5, 16, 25), minutes(10)) == wib(2026, 6, 8, 7, 35)
    assert CAL.add(wib(2026, 6, 5, 16, 15), minutes(10)) == wib(2026, 6, 5, 16, 25)
    assert CAL.is_open(wib(2026, 6, 5, 16, 10))  # Friday
    assert not CAL.is_open(wib(2026, 6, 4, 16, 10))  # Thursday
    assert not CAL.is_open(wib(2026, 6, 5, 16, 30))  # closing time is closed
    assert CAL.is_open(wib(2026, 6, 5, 7, 30))  # opening time is open
    assert not CAL.is_open(wib(2026, 6, 5, 7, 29))


def test_step_across_christmas_and_cuti_bersama() -> None:
    # Wed 23 Dec 2026; Thu 24 is cuti bersama, Fri 25 Christmas, 26-27 the weekend.
    assert CAL.holiday(date(2026, 12, 23)) is None
    assert CAL.holiday(date(2026, 12, 24)) is not None
    assert CAL.holiday(date(2026, 12, 25)) is not None
    assert CAL.hours_on(date(2026, 12, 24)) is None
    assert CAL.hours_on(date(2026, 12, 25)) is None
    assert CAL.add(wib(2026, 12, 23, 15, 55), minutes(10)) == wib(2026, 12, 28, 7, 35)
    assert CAL.between(wib(2026, 12, 23, 15, 55), wib(2026, 12, 28, 7, 35)) == minutes(10)
    assert not CAL.is_open(wib(2026, 12, 24, 10))


def test_idul_fitri_2026() -> None:
    # Fri 20 (cuti bersama), Sat 21 and Sun 22 (Idul Fitri), Mon 23 and Tue 24 (cuti bersama).
    for day in range(20, 25):
        assert CAL.holiday(date(2026, 3, day)) is not None, day
        assert CAL.hours_on(date(2026, 3, day)) is None, day
    assert CAL.hours_on(date(2026, 3, 25)) == Hours(time(7, 30), time(16))
    # Nyepi (Wed 18, cuti bersama; Thu 19) is right before: the office last opens on Tue 17.
    assert CAL.next_open(wib(2026, 3, 17, 16, 0)) == wib(2026, 3, 25, 7, 30)
    assert CAL.add(wib(2026, 3, 17, 15, 30), minutes(60)) == wib(2026, 3, 25, 8, 0)
    assert CAL.between(wib(2026, 3, 17), wib(2026, 3, 26)) == timedelta(hours=8, minutes=30) * 2


def test_operator_added_holiday() -> None:
    tuesday = date(2026, 6, 9)
    assert CAL.hours_on(tuesday) == Hours(time(7, 30), time(16))
    calendar = OfficeCalendar(JAKARTA, extra_holidays=parse_dates("2026-06-09"))
    assert calendar.holiday(tuesday) == "Libur kantor"
    assert calendar.hours_on(tuesday) is None
    assert not calendar.is_open(wib(2026, 6, 9, 10))
    assert calendar.add(wib(2026, 6, 8, 15, 55), minutes(10)) == wib(2026, 6, 10, 7, 35)
    assert calendar.between(wib(2026, 6, 8), wib(2026, 6, 11)) == timedelta(hours=17)


def test_between_across_a_weekend_counts_office_minutes_only() -> None:
    # Fri 16:00 -> Mon 08:00: 30 minutes on Friday, 30 on Monday.
    assert CAL.between(wib(2026, 6, 5, 16), wib(2026, 6, 8, 8)) == minutes(60)
    # A whole week: 4 x 8.5 h + 9 h.
    assert CAL.between(wib(2026, 6, 6), wib(2026, 6, 13)) == timedelta(hours=43)
    # Weekend only; and reversed or empty intervals.
    assert CAL.between(wib(2026, 6, 6, 1), wib(2026, 6, 7, 23)) == timedelta(0)
    assert CAL.between(wib(2026, 6, 8, 9), wib(2026, 6, 8, 8)) == timedelta(0)
    assert CAL.between(wib(2026, 6, 8, 9), wib(2026, 6, 8, 9)) == timedelta(0)


def test_naive_datetimes_are_utc() -> None:
    # 00:00 UTC = 07:00 WIB on Monday: not yet open.
    naive = datetime(2026, 6, 8, 0, 0)
    assert not CAL.is_open(naive)
    assert CAL.is_open(datetime(2026, 6, 8, 0, 30))  # 07:30 WIB
    assert CAL.next_open(naive) == wib(2026, 6, 8, 7, 30)
    assert CAL.add(naive, minutes(5)) == wib(2026, 6, 8, 7, 35)
    assert CAL.add(naive, minutes(5)) == CAL.add(naive.replace(tzinfo=UTC), minutes(5))
    assert CAL.between(naive, datetime(2026, 6, 8, 1, 0)) == minutes(30)


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add(wib(2026, 6, 8, 9), minutes(-1))


def test_without_national_holidays_christmas_is_a_working_day() -> None:
    plain = OfficeCalendar(JAKARTA, national_holidays=False)
    christmas = date(2026, 12, 25)  # a Friday
    assert plain.holiday(christmas) is None
    assert plain.hours_on(christmas) == Hours(time(7, 30), time(16, 30))
    assert plain.is_open(wib(2026, 12, 25, 10))
    assert plain.add(wib(2026, 12, 23, 15, 55), minutes(10)) == wib(2026, 12, 24, 7, 35)
    assert not plain.is_open(wib(2026, 12, 26, 10))  # still a Saturday


def test_custom_week() -> None:
    week = parse_week("mon-fri 08:00-12:00")
    assert week == {day: Hours(time(8), time(12)) for day in range(5)}
    calendar = OfficeCalendar(JAKARTA, week, national_holidays=False)
    assert calendar.is_open(wib(2026, 12, 25, 11, 59))
    assert not calendar.is_open(wib(2026, 12, 25, 12))
    assert calendar.add(wib(2026, 6, 4, 11, 55), minutes(10)) == wib(2026, 6, 5, 8, 5)
    assert calendar.add(wib(2026, 6, 5, 11, 55), minutes(10)) == wib(2026, 6, 8, 8, 5)
    assert calendar.between(wib(2026, 6, 6), wib(2026, 6, 13)) == timedelta(hours=20)


def test_parse_week_accepts_variants() -> None:
    assert parse_week(" SAT 9.00-13.30 ; sun 10:00 - 11:00 ,") == {
        5: Hours(time(9), time(13, 30)),
        6: Hours(time(10), time(11)),
    }
    assert parse_week("mon 00:00-23:59") == {0: Hours(time(0), time(23, 59))}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("every day 8-16", "cannot read"),
        ("mon-fri", "cannot read"),
        ("xyz 08:00-12:00", "cannot read"),
        ("mon 25:00-26:00", "cannot read"),
        ("mon 08:60-12:00", "cannot read"),
        ("mon 08:00-24:00", "23:59"),
        ("mon 16:00-07:30", "closing time must be after opening time"),
        ("mon 08:00-08:00", "closing time must be after opening time"),
        ("fri-mon 08:00-12:00", "run forward"),
        ("mon-fri 08:00-12:00, fri 13:00-15:00", "fri is given twice"),
        ("", "at least one working day"),
        (" , ; ", "at least one working day"),
    ],
)
def test_parse_week_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_week(text)


def test_parse_dates() -> None:
    assert parse_dates("2026-12-24, 2026-12-31;2027-01-02  2026-12-24") == frozenset(
        {date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 2)}
    )
    assert parse_dates("") == frozenset()
    assert parse_dates("  ,  ") == frozenset()


@pytest.mark.parametrize("text", ["2026-13-01", "24-12-2026", "besok", "2026-02-30"])
def test_parse_dates_errors(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date like 2026-12-24"):
        parse_dates(f"2026-12-24, {text}")


def test_calendar_without_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one working day"):
        OfficeCalendar(JAKARTA, {})


def test_a_calendar_closed_for_good_says_so() -> None:
    closed = OfficeCalendar(
        JAKARTA,
        {0: Hours(time(8), time(9))},
        extra_holidays=[date(2026, 1, 5) + timedelta(weeks=n) for n in range(60)],
        national_holidays=False,
    )
    with pytest.raises(ValueError, match="no working day"):
        closed.next_open(wib(2026, 1, 1))


# ---- examples: a zone with daylight saving time (TIMEZONE is a setting) --------------------

BERLIN = ZoneInfo("Europe/Berlin")  # 2026-03-29 02:00 -> 03:00; 2026-10-25 03:00 -> 02:00


def test_opening_in_the_spring_forward_gap() -> None:
    # Sunday 02:30 does not exist: the office opens at 03:30 CEST (01:30 UTC), the hour after.
    sunday = OfficeCalendar(BERLIN, {6: Hours(time(2, 30), time(4))}, national_holidays=False)
    saturday = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    opening = sunday.next_open(saturday)
    assert opening == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert sunday.is_open(opening)
    assert sunday.add(saturday, minutes(10)) == datetime(2026, 3, 29, 1, 40, tzinfo=UTC)
    assert sunday.between(saturday, datetime(2026, 3, 30, tzinfo=BERLIN)) == minutes(30)


def test_a_period_the_clock_change_leaves_empty_is_skipped() -> None:
    # Opening 02:30 (-> 03:30) and closing 03:15 on the night of the jump: no office time;
    # the step waits for the next Sunday. (This once walked backwards: the deadline grew.)
    sunday = OfficeCalendar(BERLIN, {6: Hours(time(2, 30), time(3, 15))}, national_holidays=False)
    saturday = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert sunday.next_open(saturday) == datetime(2026, 4, 5, 2, 30, tzinfo=BERLIN)
    assert sunday.add(saturday, minutes(10)) == datetime(2026, 4, 5, 2, 40, tzinfo=BERLIN)
    assert sunday.between(saturday, datetime(2026, 3, 30, tzinfo=BERLIN)) == timedelta(0)
    assert not sunday.is_open(datetime(2026, 3, 29, 1, 14, tzinfo=UTC))  # 03:14 CEST


def test_the_repeated_fall_back_hour_counts_once() -> None:
    # 02:10-02:50 on the night 03:00 becomes 02:00 again: the first 02:10-02:50 only.
    sunday = OfficeCalendar(BERLIN, {6: Hours(time(2, 10), time(2, 50))}, national_holidays=False)
    first = datetime(2026, 10, 25, 2, 20, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert second - first == timedelta(0)  # same wall time; they differ as instants:
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert sunday.is_open(first)
    assert not sunday.is_open(second)
    assert sunday.between(first.replace(hour=0), second.replace(hour=4)) == minutes(40)
    assert sunday.add(second, timedelta(0)) == datetime(2026, 11, 1, 2, 10, tzinfo=BERLIN)


# ---- properties -----------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)

offsets: st.SearchStrategy[tzinfo] = st.integers(-14 * 60, 14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
# Any offset (and UTC, and the office's own zone); naive values are UTC.
zones = st.one_of(offsets, st.just(UTC), st.just(JAKARTA))
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=zones
)
minute_instants = instants.map(lambda at: at.replace(second=0, microsecond=0))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
naive_or_aware = st.one_of(instants, st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31)))


def _clock_time(minute_of_day: int) -> time:
    return time(minute_of_day // 60, minute_of_day % 60)


@st.composite
def hours(draw: st.DrawFn) -> Hours:
    opens = draw(st.integers(0, 23 * 60 + 58))
    closes = draw(st.integers(opens + 1, 23 * 60 + 59))
    return Hours(_clock_time(opens), _clock_time(closes))


weeks = st.dictionaries(st.integers(0, 6), hours(), min_size=1, max_size=7)
extra_days = st.frozensets(st.dates(date(2024, 12, 1), date(2029, 1, 31)), max_size=40)


@st.composite
def calendars(draw: st.DrawFn) -> OfficeCalendar:
    """The default calendar, or a random week with random days off and no national ones."""
    if draw(st.integers(0, 3)) == 0:
        return CAL
    return OfficeCalendar(JAKARTA, draw(weeks), draw(extra_days), national_holidays=False)


def _weekly(calendar: OfficeCalendar) -> timedelta:
    return sum(
        (
            datetime.combine(date.min, h.closes) - datetime.combine(date.min, h.opens)
            for h in calendar.week.values()
        ),
        timedelta(0),
    )


@st.composite
def office_durations(draw: st.DrawFn, calendar: OfficeCalendar) -> timedelta:
    """0..3 days of office time, but no more than ~6 weeks of this calendar's hours (a week
    of one minute a day would otherwise walk decades)."""
    longest = min(timedelta(days=3), _weekly(calendar) * 6)
    return draw(st.timedeltas(min_value=timedelta(0), max_value=longest))


def _open_or_closing(calendar: OfficeCalendar, at: datetime) -> bool:
    local = at.astimezone(calendar.zone)
    hours_today = calendar.hours_on(local.date())
    if hours_today is None:
        return False
    return hours_today.opens <= local.time() <= hours_today.closes


@PROPERTY
@given(st.data())
def test_between_undoes_add(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(naive_or_aware)
    duration = data.draw(office_durations(calendar))
    due = calendar.add(start, duration)
    assert due.tzinfo is UTC
    assert calendar.between(start, due) == duration


@PROPERTY
@given(st.data())
def test_add_is_monotone(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a, b = sorted(data.draw(st.lists(instants, min_size=2, max_size=2)))
    d1, d2 = sorted(data.draw(st.lists(office_durations(calendar), min_size=2, max_size=2)))
    assert calendar.add(a, d1) <= calendar.add(a, d2)
    assert calendar.add(a, d1) <= calendar.add(b, d1)
    assert calendar.add(a, d1) >= a
    if d1 < d2:
        assert calendar.add(a, d1) < calendar.add(a, d2)


@PROPERTY
@given(st.data())
def test_add_lands_in_open_hours_or_at_closing(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(instants)
    duration = data.draw(office_durations(calendar))
    due = calendar.add(start, duration)
    if duration > timedelta(0):
        assert _open_or_closing(calendar, due)
        assert calendar.hours_on(due.astimezone(calendar.zone).date()) is not None
        assert calendar.is_open(due - timedelta(microseconds=1))
    else:
        assert calendar.is_open(due)
        assert due == calendar.next_open(start)


@PROPERTY
@given(st.data())
def test_between_is_additive_and_bounded(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    a, b, c = sorted(data.draw(st.lists(instants, min_size=3, max_size=3)))
    ab, bc, ac = calendar.between(a, b), calendar.between(b, c), calendar.between(a, c)
    assert ab + bc == ac
    assert timedelta(0) <= ab <= b - a
    assert timedelta(0) <= ac <= c - a
    assert calendar.between(c, a) == timedelta(0) or a == c


@PROPERTY
@given(st.data())
def test_next_open_is_add_zero_and_open(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(naive_or_aware)
    opening = calendar.next_open(start)
    assert opening == calendar.add(start, timedelta(0))
    assert calendar.is_open(opening)
    aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    assert opening >= aware
    assert (opening == aware) == calendar.is_open(start)
    # Nothing was open in between.
    assert calendar.between(start, opening) == timedelta(0)


@PROPERTY
@given(st.data())
def test_is_open_agrees_with_between(data: st.DataObject) -> None:
    """Open at a whole minute exactly when that minute counts as office time."""
    calendar = data.draw(calendars())
    at = data.draw(minute_instants)
    counted = calendar.between(at, at + minutes(1))
    assert counted in (timedelta(0), minutes(1))
    assert calendar.is_open(at) == (counted == minutes(1))


@PROPERTY
@given(weeks)
def test_parse_week_reads_its_own_text(week: dict[int, Hours]) -> None:
    text = ", ".join(
        f"{DAY_NAMES[day]} {h.opens:%H:%M}-{h.closes:%H:%M}" for day, h in sorted(week.items())
    )
    assert parse_week(text) == week


@PROPERTY
@given(st.frozensets(st.dates(date(2000, 1, 1), date(2099, 12, 31)), max_size=20))
def test_parse_dates_reads_its_own_text(days: frozenset[date]) -> None:
    assert parse_dates(", ".join(day.isoformat() for day in sorted(days))) == days


@PROPERTY
@given(instants, durations)
def test_default_calendar_over_three_days(start: datetime, duration: timedelta) -> None:
    """The brief's full range on the real calendar (national holidays included)."""
    due = CAL.add(start, duration)
    assert CAL.between(start, due) == duration
    if duration > timedelta(0):
        assert _open_or_closing(CAL, due)
    assert CAL.next_open(start) == CAL.add(start, timedelta(0))


# ---- properties in zones with daylight saving time ------------------------------------------

DST_ZONES = [
    ZoneInfo("Europe/Berlin"),  # 02:00 <-> 03:00
    ZoneInfo("America/Santiago"),  # at midnight
    ZoneInfo("Australia/Lord_Howe"),  # half an hour
]


def _transitions(zone: ZoneInfo) -> list[datetime]:
    """The instants in 2025-2028 where the zone's offset changes (to the hour)."""
    hour = timedelta(hours=1)
    found, at = [], datetime(2025, 1, 1, tzinfo=UTC)
    while at.year < 2029:
        if at.astimezone(zone).utcoffset() != (at + hour).astimezone(zone).utcoffset():
            found.append(at)
        at += hour
    return found


TRANSITIONS = {zone: _transitions(zone) for zone in DST_ZONES}


@st.composite
def near_hours(draw: st.DrawFn) -> Hours:
    """Hours that open or close near a clock change (mostly 00:00-04:00, or until 23:59)."""
    opens = draw(st.integers(0, 4 * 60))
    closes = draw(st.one_of(st.integers(opens + 1, 5 * 60), st.just(23 * 60 + 59)))
    return Hours(_clock_time(opens), _clock_time(closes))


@st.composite
def dst_case(draw: st.DrawFn) -> tuple[OfficeCalendar, list[datetime]]:
    zone = draw(st.sampled_from(DST_ZONES))
    week = draw(st.dictionaries(st.integers(0, 6), st.one_of(near_hours(), hours()), min_size=1))
    calendar = OfficeCalendar(zone, week, draw(extra_days), national_holidays=False)
    pivot = draw(st.sampled_from(TRANSITIONS[zone]))
    near = st.timedeltas(timedelta(days=-8), timedelta(days=8)).map(lambda d: pivot + d)
    at = draw(st.lists(near, min_size=3, max_size=3))
    return calendar, sorted(at)


@PROPERTY
@given(st.data())
def test_dst_zones_keep_the_arithmetic_consistent(data: st.DataObject) -> None:
    calendar, (a, b, c) = data.draw(dst_case())
    duration = data.draw(office_durations(calendar))
    due = calendar.add(a, duration)
    assert calendar.between(a, due) == duration
    if duration > timedelta(0):
        assert calendar.is_open(due - timedelta(microseconds=1))
    opening = calendar.next_open(a)
    assert opening == calendar.add(a, timedelta(0))
    assert calendar.is_open(opening)
    assert calendar.between(a, opening) == timedelta(0)
    assert calendar.add(a, duration) <= calendar.add(b, duration)
    assert calendar.between(a, b) + calendar.between(b, c) == calendar.between(a, c)
    assert calendar.between(a, c) <= c - a
    minute = b.replace(second=0, microsecond=0)
    assert calendar.is_open(minute) == (calendar.between(minute, minute + minutes(1)) == minutes(1))
