"""What a MonthReport holds, detached from the database: the figures every format renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.reports.month import Month

NO_REASON = "belum dijelaskan"


@dataclass(frozen=True)
class Tally:
    """One group's count: `key` is the stored value, `label` what people read."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class StepFigures:
    """One SOP step with a time standard, over the month's finished records.

    `finished`, the median, the P90 and `within` count the records done in office hours;
    `outside` those done entirely outside them. `standard_minutes` is the standard in force
    now (STEP_STANDARDS); `standards` those the month's records carried (ascending; the
    current one when there are no records)."""

    step: int
    activity: str
    standard_minutes: int | None
    finished: int
    median_minutes: float | None
    p90_minutes: float | None
    within: int
    standards: tuple[int, ...] = ()
    outside: int = 0

    @property
    def share_within(self) -> float | None:
        """Fraction (0..1) of finished records within their standard; None without records."""
        return self.within / self.finished if self.finished else None


@dataclass(frozen=True)
class Deviation:
    """A finished step that took longer than its standard, and why."""

    number: str
    step: int
    activity: str
    actor: str
    office_minutes: float
    standard_minutes: int
    reason: str
    reason_by: str | None
    finished_at: datetime

    @property
    def explained(self) -> bool:
        return self.reason != NO_REASON


@dataclass(frozen=True)
class OutsideWork:
    """A finished step done entirely outside office hours: no office time, so its wall-clock
    time is what it took."""

    number: str
    step: int
    activity: str
    actor: str
    wall_minutes: float
    standard_minutes: int | None
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class TicketLine:
    """One ticket of the month, for the per-ticket list.

    `steps`, `office_minutes` and `late` cover the steps with a standard done in office
    hours; `outside` and `outside_minutes` (wall clock) those done outside them."""

    number: str
    submitted_at: datetime
    request_type: str
    role: str
    work_unit: str
    outcome: str
    steps: int
    office_minutes: float
    late: int
    outside: int
    outside_minutes: float
    actors: tuple[str, ...]


@dataclass(frozen=True)
class Incident:
    """A ticket whose requester said "Bukan saya" (someone else opened the link)."""

    number: str
    count: int
    work_unit: str
    reported_at: datetime  # the latest report (the ticket's submission if none is on record)


@dataclass(frozen=True)
class MonthReport:
    month: Month
    zone: ZoneInfo
    generated_at: datetime
    tickets: int
    by_type: tuple[Tally, ...]
    by_role: tuple[Tally, ...]
    by_unit: tuple[Tally, ...]
    by_outcome: tuple[Tally, ...]
    steps: tuple[StepFigures, ...]
    deviations: tuple[Deviation, ...]
    incidents: tuple[Incident, ...]
    outside: tuple[OutsideWork, ...] = ()
    ticket_lines: tuple[TicketLine, ...] = ()

    @property
    def finished_steps(self) -> int:
        """Steps with a standard finished in office hours (the share's denominator)."""
        return sum(s.finished for s in self.steps)

    @property
    def outside_steps(self) -> int:
        return sum(s.outside for s in self.steps)

    @property
    def within_steps(self) -> int:
        return sum(s.within for s in self.steps)
