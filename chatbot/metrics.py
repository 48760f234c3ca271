"""Prometheus metrics: counters the code bumps as it works, gauges read from the database.

Everything lives on our own `REGISTRY` (not prometheus_client's global default), which
`chatbot.web.metrics` serves at GET /metrics. Counters and the histogram are per process;
the gauges are set from the database by `collect_database` on every scrape, so they are the
same whichever process answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import InboxUpdate, OutboxMessage, StepRecord, Ticket
from chatbot.services.enums import TicketState

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
PlatformCollector(registry=REGISTRY)  # python_info

# ---- what the code records ----------------------------------------------------------------

UPDATE_OUTCOMES = frozenset({"handled", "ignored", "failed", "duplicate"})
PLATFORM_ERROR_KINDS = frozenset(
    {"rate_limited", "blocked", "bad_request", "server_error", "timeout", "network", "window"}
)
OTHER = "other"  # an outcome or error kind not in the lists above (keeps the label set small)

UPDATES = Counter(
    "chatbot_updates_total",
    "Updates received from a platform, by kind (message, callback_query, my_chat_member, ...) "
    "and outcome (handled, ignored, failed, duplicate).",
    ["channel", "kind", "outcome"],
    registry=REGISTRY,
)
HANDLING_SECONDS = Histogram(
    "chatbot_update_handling_seconds",
    "Time from taking an update to having handled it.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
PLATFORM_ERRORS = Counter(
    "chatbot_platform_errors_total",
    "Failed calls to a platform's API, by method and kind "
    "(rate_limited, blocked, bad_request, server_error, timeout, network).",
    ["channel", "method", "kind"],
    registry=REGISTRY,
)
OUTBOX_SENT = Counter(
    "chatbot_outbox_sent_total",
    "Outbox messages delivered, by kind.",
    ["kind"],
    registry=REGISTRY,
)


PERIODIC_RUNS = Counter(
    "chatbot_periodic_runs_total",
    "Rounds of the periodic jobs (outbox, housekeeping, deadlines) by outcome (ok, failed): "
    "a deadlines counter that stops growing means no reminder goes out.",
    ["task", "outcome"],  # not "job": Prometheus keeps that label for the scrape job
    registry=REGISTRY,
)


def record_periodic(task: str, ok: bool) -> None:
    PERIODIC_RUNS.labels(task, "ok" if ok else "failed").inc()


def record_update(channel: str, kind: str, outcome: str, seconds: float | None) -> None:
    """Count one update; observe its handling time when given (None: not handled, e.g. a
    duplicate). An outcome outside UPDATE_OUTCOMES is counted as "other"."""
    UPDATES.labels(channel, kind, outcome if outcome in UPDATE_OUTCOMES else OTHER).inc()
    if seconds is not None:
        HANDLING_SECONDS.labels(channel).observe(seconds)


def record_platform_error(channel: str, method: str, kind: str) -> None:
    """Count one failed platform call. A kind outside PLATFORM_ERROR_KINDS counts as "other"."""
    PLATFORM_ERRORS.labels(channel, method, kind if kind in PLATFORM_ERROR_KINDS else OTHER).inc()


def record_sent(kind: str) -> None:
    """Count one delivered outbox message."""
    OUTBOX_SENT.labels(kind).inc()


# ---- what the database says (set on every scrape) ----------------------------------------

DATABASE_UP = Gauge(
    "chatbot_database_up",
    "1 when the last scrape could read the database, else 0 (the other gauges are then stale).",
    registry=REGISTRY,
)
INBOX_PENDING = Gauge("chatbot_inbox_pending", "Inbox updates not handled yet.", registry=REGISTRY)
INBOX_OLDEST_AGE = Gauge(
    "chatbot_inbox_oldest_age_seconds",
    "Age of the oldest inbox update not handled yet (0 when none).",
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "chatbot_outbox_pending",
    "Outbox messages neither sent nor given up on.",
    registry=REGISTRY,
)
OUTBOX_OLDEST_AGE = Gauge(
    "chatbot_outbox_oldest_age_seconds",
    "Age of the oldest pending outbox message (0 when none).",
    registry=REGISTRY,
)
OUTBOX_FAILED = Gauge(
    "chatbot_outbox_failed_total",
    "Outbox messages given up on (failed_at set), all time. A gauge: a row count, not a counter.",
    registry=REGISTRY,
)
TICKETS = Gauge(
    "chatbot_tickets",
    "Tickets by state (every state is present, 0 when none).",
    ["state"],
    registry=REGISTRY,
)
SLA_BREACHES = Gauge(
    "chatbot_sla_breaches",
    "Open SOP steps running longer than their time standard (wall clock).",
    registry=REGISTRY,
)


@dataclass(frozen=True)
class DatabaseSnapshot:
    inbox_pending: int = 0
    inbox_oldest_age: float = 0.0
    outbox_pending: int = 0
    outbox_oldest_age: float = 0.0
    outbox_failed: int = 0
    tickets: dict[TicketState, int] = field(default_factory=dict)
    sla_breaches: int = 0


def _age(oldest: datetime | None, now: datetime) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


async def read_database(session: AsyncSession, now: datetime) -> DatabaseSnapshot:
    """A few aggregate queries. Ages are computed here from MIN(...) values, not by date math
    in SQL, so the same code runs on SQLite and PostgreSQL."""
    inbox = (
        await session.execute(
            select(func.count(), func.min(InboxUpdate.received_at)).where(
                InboxUpdate.handled_at.is_(None)
            )
        )
    ).one()
    outbox = (
        await session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                # Held for a closed WhatsApp window: waiting on the person, not on us.
                OutboxMessage.held_at.is_(None),
            )
        )
    ).one()
    outbox_failed = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.failed_at.is_not(None))
    )
    by_state = await session.execute(select(Ticket.state, func.count()).group_by(Ticket.state))
    tickets = {TicketState(state): count for state, count in by_state}
    return DatabaseSnapshot(
        inbox_pending=inbox[0],
        inbox_oldest_age=_age(inbox[1], now),
        outbox_pending=outbox[0],
        outbox_oldest_age=_age(outbox[1], now),
        outbox_failed=outbox_failed or 0,
        tickets=tickets,
        sla_breaches=await _sla_breaches(session, now),
    )


async def _sla_breaches(session: AsyncSession, now: datetime) -> int:
    """Open steps past their deadline on the office clock (due_at is computed with office
    hours and holidays when the step opens; steps without a standard have none)."""
    count = await session.scalar(
        select(func.count())
        .select_from(StepRecord)
        .where(
            StepRecord.finished_at.is_(None),
            StepRecord.due_at.is_not(None),
            StepRecord.due_at <= now,
        )
    )
    return count or 0


async def collect_database(
    sessions: async_sessionmaker[AsyncSession], *, timeout: float = 5.0
) -> None:
    """Read the database (one session, at most `timeout` seconds, well within Prometheus'
    default scrape timeout of 10 s) and set the gauges; chatbot_database_up says whether it
    worked. On failure the other gauges keep their last values and the error propagates."""
    try:
        async with asyncio.timeout(timeout), sessions() as session:
            snapshot = await read_database(session, datetime.now(UTC))
    except Exception:
        DATABASE_UP.set(0)
        raise
    INBOX_PENDING.set(snapshot.inbox_pending)
    INBOX_OLDEST_AGE.set(snapshot.inbox_oldest_age)
    OUTBOX_PENDING.set(snapshot.outbox_pending)
    OUTBOX_OLDEST_AGE.set(snapshot.outbox_oldest_age)
    OUTBOX_FAILED.set(snapshot.outbox_failed)
    for state in TicketState:
        TICKETS.labels(state.value).set(snapshot.tickets.get(state, 0))
    SLA_BREACHES.set(snapshot.sla_breaches)
    DATABASE_UP.set(1)


__all__ = [
    "HANDLING_SECONDS",
    "OUTBOX_SENT",
    "PLATFORM_ERRORS",
    "REGISTRY",
    "UPDATES",
    "collect_database",
    "record_platform_error",
    "record_sent",
    "record_update",
]
