"""Run modes: Telegram by long polling (one process) or webhook (one of several workers),
each with the web app, the inbox worker and the periodic jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta

import uvicorn
from starlette.routing import BaseRoute

from chatbot.app import App
from chatbot.conversations.endings import sweep_handovers, sweep_supplements, sweep_unarchived
from chatbot.conversations.messages import Messenger
from chatbot.metrics import record_periodic
from chatbot.services.inbox import Inbox
from chatbot.services.retention import purge_due
from chatbot.web.app import RedactLinkPaths, create_web_app
from chatbot.web.metrics import metrics_route
from chatbot.web.webhook import WEBHOOK_PATH, webhook_route

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
    between Telegram accepting it and the outbox recording it)."""
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


async def housekeeping(app: App, inbox: Inbox | None = None) -> None:
    await app.store.purge_expired()
    # Steps from before migration 0004 get their deadlines (a no-op afterwards), here rather
    # than in the every-minute sweep: it reads the finished steps too.
    await app.services.tickets.backfill_deadlines()
    await sweep_unarchived(app.services)
    if inbox is not None:
        await inbox.purge_handled(INBOX_KEEP)
    await app.outbox.purge_sent(OUTBOX_KEEP)
    settings = app.settings
    await purge_due(app.sessions, settings.storage_dir, settings.archive_retention)


async def deadlines(app: App) -> None:
    """Every deadline, from the database (not timers): steps past their standard, step 4's
    reminder and expiry, expired links, confirmation reminders and closing."""
    settings = app.settings
    try:
        await app.watch.sweep()
    except Exception:
        log.exception("time-standard reminders failed; the next sweep retries")
    await sweep_supplements(
        app.services,
        remind_after=settings.supplement_remind_after,
        expire_after=settings.supplement_expire_after,
    )
    await sweep_handovers(
        app.services,
        remind_every=settings.confirm_reminder_every,
        max_reminders=settings.confirm_max_reminders,
        close_after=settings.confirm_close_after,
    )


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our process: the runner, not uvicorn, owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_server(
    app: App, messenger: Messenger | None, extra_routes: Sequence[BaseRoute] = ()
) -> uvicorn.Server:
    token = app.settings.telegram_bot_token
    metrics_token = app.settings.metrics_token
    metrics = metrics_route(
        app.sessions, metrics_token.get_secret_value() if metrics_token else None
    )
    web = create_web_app(
        app.services,
        messenger=messenger,
        readiness=app.ready,
        warnings=app.warnings,
        public_url=app.settings.public_url,
        bot_token=token.get_secret_value() if token else None,
        require_webapp=app.settings.webapp_binding,
        extra_routes=[metrics, *extra_routes],
    )
    config = uvicorn.Config(
        web,
        host=app.settings.web_host,
        port=app.settings.web_port,
        log_config=None,
        access_log=True,
        server_header=False,
        timeout_graceful_shutdown=20,
    )
    logging.getLogger("uvicorn.access").addFilter(RedactLinkPaths())
    return EmbeddedServer(config)


async def run_telegram(app: App, *, webhook: bool = False) -> None:
    """The bot until SIGINT/SIGTERM: long polling (one process) or the webhook (one of several
    workers), the web app, the inbox worker and the periodic jobs.

    On a signal it stops taking updates first (polling stops; uvicorn stops accepting and
    finishes the requests in flight), then lets the worker finish the updates in hand, then
    sends what the outbox holds, then exits. Whatever is left waits in the database.
    """
    from chatbot.channels.telegram import TelegramChannel

    settings = app.settings
    channel = TelegramChannel(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    routes: list[BaseRoute] = []
    if webhook:
        secret = settings.telegram_webhook_secret
        if secret is None:
            raise SystemExit("chatbot serve needs TELEGRAM_WEBHOOK_SECRET")
        routes.append(webhook_route(channel.receive, secret.get_secret_value()))
    server = web_server(app, channel.messenger, routes)
    await app.warn_at_start()
    await channel.start()
    worker_stop = asyncio.Event()
    web = asyncio.create_task(server.serve(), name="web")
    ingress: asyncio.Task[None] | None = None
    if webhook:
        assert settings.telegram_webhook_secret is not None
        await channel.set_webhook(
            settings.public_url + WEBHOOK_PATH, settings.telegram_webhook_secret.get_secret_value()
        )
    else:
        ingress = asyncio.create_task(channel.poll(stop), name="polling")
    worker = asyncio.create_task(channel.worker.run(worker_stop), name="inbox")
    periodic = [
        asyncio.create_task(
            every(OUTBOX_EVERY, channel.sender.flush, "outbox", worker_stop), name="outbox"
        ),
        asyncio.create_task(
            every(
                HOUSEKEEPING_EVERY,
                lambda: housekeeping(app, channel.inbox),
                "housekeeping",
                worker_stop,
            ),
            name="housekeeping",
        ),
        asyncio.create_task(
            every(DEADLINES_EVERY, lambda: deadlines(app), "deadlines", worker_stop),
            name="deadlines",
        ),
    ]
    log.info(
        "bot running: Telegram %s, web app on %s:%s",
        "webhook" if webhook else "long polling",
        settings.web_host,
        settings.web_port,
    )
    essential = [web, worker, *([ingress] if ingress else [])]
    stopping = asyncio.create_task(stop.wait(), name="signal")
    broken: str | None = None
    try:
        done, _ = await asyncio.wait([stopping, *essential], return_when=asyncio.FIRST_COMPLETED)
        if stopping in done:
            log.info("stopping: no new updates; finishing the ones in hand")
        else:  # the web server, polling or the worker ended on its own: restart the process
            broken = next(iter(done)).get_name()
            log.error("%s stopped on its own; exiting so that the bot is restarted", broken)
    finally:
        stopping.cancel()
        stop.set()
        server.should_exit = True
        if ingress is not None:
            ingress.cancel()  # an update fetched but not stored is simply fetched again
        await asyncio.gather(web, *([ingress] if ingress else []), return_exceptions=True)
        worker_stop.set()  # the worker and the periodic jobs finish what they hold, then end
        await asyncio.gather(worker, *periodic, return_exceptions=True)
        with contextlib.suppress(Exception):
            await channel.sender.flush()
        await channel.stop()
        log.info("stopped")
    if broken is not None:
        raise SystemExit(1)
