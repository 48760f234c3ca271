"""A month's figures of the SOP, read from the database and detached from it.

Which records count: a ticket belongs to the month (office time zone) it was submitted in;
its finished step records count with it, whenever they finished. Office time comes from the
record's `office_seconds` (set when the step finishes) or, for older records, from
`SlaPolicy.used(started, finished)`. A record is measured against its own `standard_minutes`
(the standard in force when it opened), else the policy's, and is within it when
`office seconds <= standard * 60` (the same rule as `StepRecord.late`); when STEP_STANDARDS
changed within the month a step shows every standard its records carried.

Work done outside office hours: a record with no office time that finished while the
office was closed (an admin acting in the evening) took 0 office minutes, which would read
as "within the standard" however long it took. Such records are counted apart ("di luar jam
kerja", with their wall-clock time) and left out of the office-time figures.

Percentiles: the median is the usual one (`statistics.median`, the mean of the two middle
values for an even count); the 90th percentile is the *nearest rank*: the values sorted
ascending, the one at rank ceil(0.9 * n) (1-based). It is always a time that really
occurred, and at least 90% of the records took at most that long. E.g. for 1..10 minutes
it is 9; for 4 values it is the largest (rank ceil(3.6) = 4).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import AuditEvent, StepRecord, Ticket
from chatbot.reports.facts import (
    NO_REASON,
    Deviation,
    Incident,
    MonthReport,
    OutsideWork,
    StepFigures,
    Tally,
    TicketLine,
)
from chatbot.reports.month import parse_month
from chatbot.services.enums import Outcome, RequestType, Role, Step
from chatbot.services.sla import SlaPolicy
from chatbot.services.vocabulary import OUTCOME_SHORT, REQUEST_TYPES, ROLES, STEP_REPORT

OPEN = "dalam_proses"
OUTCOMES = {**{o.value: label for o, label in OUTCOME_SHORT.items()}, OPEN: "Dalam proses"}
NO_UNIT = "(tidak tercatat)"


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: sorted values, 1-based rank ceil(percent/100 * n)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _tallies(counts: Counter[str], labels: dict[str, str], keep: Iterable[str]) -> list[Tally]:
    """Every key in `keep` (even when zero), in that order, then the others by count."""
    order = list(keep)
    extra = sorted((k for k in counts if k not in order), key=lambda k: (-counts[k], k))
    return [Tally(k, labels.get(k, k), counts[k]) for k in order + extra]


def _units(units: Iterable[str]) -> tuple[Tally, ...]:
    """Work units as typed, grouped case- and space-insensitively; the commonest spelling."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for unit in units:
        text = " ".join(unit.split()) or NO_UNIT
        spellings[text.casefold()][text] += 1
    tallies = [
        Tally(key, names.most_common(1)[0][0], names.total()) for key, names in spellings.items()
    ]
    return tuple(sorted(tallies, key=lambda t: (-t.count, t.label.casefold())))


@dataclass(frozen=True)
class _Measured:
    number: str
    step: int
    actor: str
    seconds: int
    standard: int | None
    reason: str | None
    reason_by: str | None
    finished_at: datetime
    started_at: datetime
    outside: bool  # no office time, finished while the office was closed

    @property
    def wall_minutes(self) -> float:
        return (self.finished_at - self.started_at).total_seconds() / 60

    @property
    def late(self) -> bool:
        return not self.outside and self.standard is not None and self.seconds > self.standard * 60


def _measure(row: StepRecord, number: str, policy: SlaPolicy) -> _Measured:
    finished = row.finished_at
    assert finished is not None  # the query takes finished records only
    seconds = row.office_seconds
    if seconds is None:
        seconds = int(policy.used(row.started_at, finished) // timedelta(seconds=1))
    standard = row.standard_minutes
    if standard is None:
        standard = policy.standard(Step(row.step))
    outside = seconds == 0 and not policy.calendar.is_open(finished)
    return _Measured(
        number, int(row.step), row.actor_name or "-", seconds, standard,
        row.late_reason, row.late_reason_by, finished, row.started_at, outside,
    )  # fmt: skip


def _activity(step: int) -> str:
    return STEP_REPORT.get(Step(step), f"Langkah {step}")


def _step_figures(step: int, rows: list[_Measured], policy: SlaPolicy) -> StepFigures:
    inside = [r for r in rows if not r.outside]
    minutes = [r.seconds / 60 for r in inside]
    within = sum(1 for r in inside if r.standard is None or r.seconds <= r.standard * 60)
    current = policy.standard(Step(step))
    recorded = sorted({r.standard for r in rows if r.standard is not None})
    return StepFigures(
        step=step,
        activity=_activity(step),
        standard_minutes=current,
        finished=len(inside),
        median_minutes=median(minutes),
        p90_minutes=nearest_rank(minutes, 90),
        within=within,
        standards=tuple(recorded) if recorded else (() if current is None else (current,)),
        outside=len(rows) - len(inside),
    )


def _outside_work(r: _Measured) -> OutsideWork:
    return OutsideWork(
        number=r.number,
        step=r.step,
        activity=_activity(r.step),
        actor=r.actor,
        wall_minutes=r.wall_minutes,
        standard_minutes=r.standard,
        started_at=r.started_at,
        finished_at=r.finished_at,
    )


def _ticket_line(
    number: str, submitted: datetime, labels: tuple[str, str, str, str], rows: list[_Measured]
) -> TicketLine:
    inside = [r for r in rows if not r.outside]
    outside = [r for r in rows if r.outside]
    actors = dict.fromkeys(r.actor for r in rows if r.actor != "-")
    return TicketLine(
        number=number,
        submitted_at=submitted,
        request_type=labels[0],
        role=labels[1],
        work_unit=labels[2],
        outcome=labels[3],
        steps=len(inside),
        office_minutes=sum(r.seconds for r in inside) / 60,
        late=sum(r.late for r in rows),
        outside=len(outside),
        outside_minutes=sum(r.wall_minutes for r in outside),
        actors=tuple(actors),
    )


def _deviation(r: _Measured) -> Deviation:
    assert r.standard is not None
    return Deviation(
        number=r.number,
        step=r.step,
        activity=_activity(r.step),
        actor=r.actor,
        office_minutes=r.seconds / 60,
        standard_minutes=r.standard,
        reason=(r.reason or "").strip() or NO_REASON,
        reason_by=r.reason_by,
        finished_at=r.finished_at,
    )


async def month_report(
    sessions: async_sessionmaker[AsyncSession], month: str, zone: ZoneInfo, policy: SlaPolicy
) -> MonthReport:
    """The figures of `month` ("YYYY-MM"; ValueError with MONTH_FORMAT_ERROR otherwise)."""
    period = parse_month(month)
    start, end = period.bounds(zone)
    in_month = (Ticket.created_at >= start) & (Ticket.created_at < end)
    async with sessions() as session:
        tickets = (
            await session.execute(
                select(
                    Ticket.id,
                    Ticket.number,
                    type_coerce(Ticket.request_type, String),
                    type_coerce(Ticket.role, String),
                    Ticket.work_unit,
                    type_coerce(Ticket.outcome, String),
                    Ticket.incidents,
                    Ticket.created_at,
                )
                .where(in_month)
                .order_by(Ticket.created_at, Ticket.id)
            )
        ).all()
        records = (
            await session.scalars(
                select(StepRecord)
                .join(Ticket, Ticket.id == StepRecord.ticket_id)
                .where(in_month, StepRecord.finished_at.is_not(None))
                .order_by(StepRecord.finished_at, StepRecord.id)
            )
        ).all()
        incident_rows = await session.execute(
            select(AuditEvent.ticket_id, func.max(AuditEvent.at))
            .join(Ticket, Ticket.id == AuditEvent.ticket_id)
            .where(in_month, AuditEvent.action == "incident")
            .group_by(AuditEvent.ticket_id)
        )
        reported = dict(incident_rows.all())
    numbers = {t.id: t.number or f"#{t.id}" for t in tickets}
    measured = [_measure(r, numbers[r.ticket_id], policy) for r in records]
    by_step: dict[int, list[_Measured]] = defaultdict(list)
    by_ticket: dict[str, list[_Measured]] = defaultdict(list)
    for m in measured:
        by_step[m.step].append(m)
        if m.step in policy.standards:  # the steps the step table shows
            by_ticket[m.number].append(m)
    outcomes = Counter(t[5] or OPEN for t in tickets)
    type_labels, role_labels = _labels(REQUEST_TYPES), _labels(ROLES)
    return MonthReport(
        month=period,
        zone=zone,
        generated_at=datetime.now(UTC),
        tickets=len(tickets),
        by_type=tuple(
            _tallies(Counter(t[2] for t in tickets), _labels(REQUEST_TYPES), _keys(RequestType))
        ),
        by_role=tuple(_tallies(Counter(t[3] for t in tickets), _labels(ROLES), _keys(Role))),
        by_unit=_units(t.work_unit for t in tickets),
        by_outcome=tuple(_tallies(outcomes, OUTCOMES, [*_keys(Outcome), OPEN])),
        steps=tuple(
            _step_figures(step, by_step.get(step, []), policy) for step in sorted(policy.standards)
        ),
        deviations=tuple(
            _deviation(m)
            for m in sorted(measured, key=lambda m: (m.number, m.step, m.finished_at))
            if m.late
        ),
        incidents=tuple(
            Incident(numbers[t.id], t.incidents, t.work_unit, reported.get(t.id, t.created_at))
            for t in tickets
            if t.incidents > 0
        ),
        outside=tuple(
            _outside_work(m)
            for m in sorted(measured, key=lambda m: (m.number, m.step, m.finished_at))
            if m.outside and m.step in policy.standards
        ),
        ticket_lines=tuple(
            _ticket_line(
                numbers[t.id],
                t.created_at,
                (
                    type_labels.get(t[2], t[2]),
                    role_labels.get(t[3], t[3]),
                    " ".join(t.work_unit.split()) or NO_UNIT,
                    OUTCOMES.get(t[5] or OPEN, t[5] or OPEN),
                ),
                by_ticket[numbers[t.id]],
            )
            for t in tickets
        ),
    )


def _keys(kind: Iterable[object]) -> list[str]:
    return [str(member) for member in kind]


def _labels(labels: dict[RequestType, str] | dict[Role, str]) -> dict[str, str]:
    return {str(key): value for key, value in labels.items()}
