"""The SOP's time standards (Mutu Baku: Waktu) on the office clock.

A step's deadline is its start plus its standard in office time; it escalates at
`escalate_after` times the standard. Both are computed when the step opens and stored with
it, so the reminder sweep is a plain database query that survives restarts and is shared
by every worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatbot.services.enums import Step
from chatbot.services.office_hours import OfficeCalendar

# The SOP's defaults, in office minutes; steps 1 and 4 are the requester's (N/A).
DEFAULT_STANDARDS: dict[int, int] = {2: 5, 3: 5, 5: 10, 6: 5, 7: 5, 8: 10, 9: 5}


def whole_minutes(seconds: float) -> int:
    """A duration in whole minutes for people, rounded up: the one rounding used everywhere.

    Up, because a step is late once it took a second more than its standard
    (`StepRecord.late`): 5 minutes 20 seconds against a 5-minute standard shows as 6, never as
    an on-time 5. Seconds are rounded first, so 540.0000001 (a float median) is 9.
    """
    return max(0, math.ceil(round(seconds) / 60))


@dataclass(frozen=True)
class Deadlines:
    due_at: datetime
    escalate_at: datetime | None  # step 8 waits on the requester: reminded, never escalated


@dataclass(frozen=True)
class SlaPolicy:
    calendar: OfficeCalendar
    standards: Mapping[int, int]
    escalate_after: float = 2.0

    def standard(self, step: Step) -> int | None:
        """The step's standard in office minutes; None where the SOP says N/A."""
        return self.standards.get(int(step))

    def deadlines(self, step: Step, started: datetime) -> Deadlines | None:
        minutes = self.standard(step)
        if minutes is None:
            return None
        standard = timedelta(minutes=minutes)
        escalate = step != Step.DELIVER_RESULT
        return Deadlines(
            due_at=self.calendar.add(started, standard),
            escalate_at=(
                self.calendar.add(started, standard * self.escalate_after) if escalate else None
            ),
        )

    def used(self, started: datetime, finished: datetime) -> timedelta:
        """Office time a step took (or has taken so far)."""
        return self.calendar.between(started, finished)

    def late_by(self, step: Step, started: datetime, finished: datetime) -> timedelta | None:
        """How far past its standard a step finished; None when within it or N/A."""
        minutes = self.standard(step)
        if minutes is None:
            return None
        over = self.used(started, finished) - timedelta(minutes=minutes)
        return over if over > timedelta(0) else None
