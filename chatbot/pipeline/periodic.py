"""The jobs every worker runs on a timer: the outbox's safety net, the deadlines (from the
database, not timers: any worker may run them, each reminder is claimed once), and
housekeeping (expired store keys, old inbox and outbox rows, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations.context import Services
from chatbot.conversations.endings import sweep_handovers, sweep_supplements, sweep_unarchived
from chatbot.metrics import record_periodic
from chatbot.services.deadlines import DeadlineWatch
from chatbot.services.inbox import Inbox
from chatbot.services.outbox import Outbox
from chatbot.services.retention import purge_due
from chatbot.settings import Settings

log = logging.getLogger(__name__)

OUTBOX_EVERY = timedelta(seconds=5)
HOUSEKEEPING_EVERY = timedelta(minutes=15)
DEADLINES_EVERY = timedelta(minutes=1)
# Handled inbox rows (no payload left) are kept past Telegram's 24 h of redelivery.
INBOX_KEEP = timedelta(days=2)
# Sent outbox rows are only bookkeeping (their content is gone): kept a month for support.
OUTBOX_KEEP = timedelta(days=30)


async def every(
    interval: timedelta,
    job: Callable[[], Awaitable[object]],
    name: str,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a job periodically; a failure is logged and the next round tries again. With
    `stop`, it ends between runs, never in the middle of one (a send is never cut off
    between the platform accepting it and the outbox recording it)."""
    while stop is None or not stop.is_set():
        try:
            await job()
            record_periodic(name, ok=True)
        except Exception:
            log.exception("periodic job %s failed", name)
            record_periodic(name, ok=False)
        if stop is None:
            await asyncio.sleep(interval.total_seconds())
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval.total_seconds())


class Periodic:
    def __init__(
        self,
        settings: Settings,
        services: Services,
        sessions: async_sessionmaker[AsyncSession],
        inbox: Inbox,
        outbox: Outbox,
        watch: DeadlineWatch,
    ) -> None:
        self._settings = settings
        self._services = services
        self._sessions = sessions
        self._inbox = inbox
        self._outbox = outbox
        self._watch = watch

    async def housekeeping(self) -> None:
        services = self._services
        await services.store.purge_expired()
        # Steps from before migration 0004 get their deadlines (a no-op afterwards), here
        # rather than in the every-minute sweep: it reads the finished steps too.
        await services.tickets.backfill_deadlines()
        await sweep_unarchived(services)
        await self._inbox.purge_handled(INBOX_KEEP)
        await self._outbox.purge_sent(OUTBOX_KEEP)
        settings = self._settings
        await purge_due(self._sessions, settings.storage_dir, settings.archive_retention)

    async def deadlines(self) -> None:
        """Every deadline, from the database (not timers): steps past their standard, step
        4's reminder and expiry, expired links, confirmation reminders and closing."""
        settings = self._settings
        try:
            await self._watch.sweep()
        except Exception:
            log.exception("time-standard reminders failed; the next sweep retries")
        await sweep_supplements(
            self._services,
            remind_after=settings.supplement_remind_after,
            expire_after=settings.supplement_expire_after,
        )
        await sweep_handovers(
            self._services,
            remind_every=settings.confirm_reminder_every,
            max_reminders=settings.confirm_max_reminders,
            close_after=settings.confirm_close_after,
        )

    def start(
        self,
        stop: asyncio.Event,
        flush: Callable[[], Awaitable[object]],
        *,
        after_deadlines: Callable[[], None] | None = None,
    ) -> list[asyncio.Task[None]]:
        """The three jobs as tasks that end (between runs) once `stop` is set. `flush`: the
        outbox round; `after_deadlines`: told when a sweep ran (the console shows its
        notices at once)."""

        async def deadlines() -> None:
            try:
                await self.deadlines()
            finally:
                if after_deadlines is not None:
                    after_deadlines()

        return [
            asyncio.create_task(every(OUTBOX_EVERY, flush, "outbox", stop), name="outbox"),
            asyncio.create_task(
                every(HOUSEKEEPING_EVERY, self.housekeeping, "housekeeping", stop),
                name="housekeeping",
            ),
            asyncio.create_task(
                every(DEADLINES_EVERY, deadlines, "deadlines", stop), name="deadlines"
            ),
        ]
