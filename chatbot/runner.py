"""Run modes: Telegram long polling + web app in one process, or the console channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import uvicorn

from chatbot.app import App
from chatbot.conversations.endings import sweep_handovers, sweep_unarchived
from chatbot.conversations.messages import Messenger
from chatbot.web.app import RedactLinkPaths, create_web_app

log = logging.getLogger(__name__)

OUTBOX_EVERY = timedelta(seconds=5)
HOUSEKEEPING_EVERY = timedelta(minutes=15)
DEADLINES_EVERY = timedelta(minutes=1)


async def every(interval: timedelta, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run a job periodically; a failure is logged and the next round tries again."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("periodic job %s failed", name)
        await asyncio.sleep(interval.total_seconds())


async def housekeeping(app: App) -> None:
    await app.store.purge_expired()
    await sweep_unarchived(app.services)


async def deadlines(app: App) -> None:
    """Expired links, confirmation reminders and closing, from the database (not timers)."""
    settings = app.settings
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


def web_server(app: App, messenger: Messenger | None) -> uvicorn.Server:
    token = app.settings.telegram_bot_token
    web = create_web_app(
        app.services,
        messenger=messenger,
        readiness=app.ready,
        public_url=app.settings.public_url,
        bot_token=token.get_secret_value() if token else None,
        require_webapp=app.settings.webapp_binding,
    )
    config = uvicorn.Config(
        web,
        host=app.settings.web_host,
        port=app.settings.web_port,
        log_config=None,
        access_log=True,
        server_header=False,
    )
    logging.getLogger("uvicorn.access").addFilter(RedactLinkPaths())
    return EmbeddedServer(config)


async def run_telegram(app: App) -> None:
    """Long polling and the web app in one process until SIGINT/SIGTERM."""
    from chatbot.channels.telegram import TelegramChannel

    channel = TelegramChannel(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = web_server(app, channel.messenger)
    await channel.start(polling=True)
    tasks = [
        asyncio.create_task(server.serve(), name="web"),
        asyncio.create_task(every(OUTBOX_EVERY, channel.sender.flush, "outbox"), name="outbox"),
        asyncio.create_task(
            every(HOUSEKEEPING_EVERY, lambda: housekeeping(app), "housekeeping"),
            name="housekeeping",
        ),
        asyncio.create_task(
            every(DEADLINES_EVERY, lambda: deadlines(app), "deadlines"), name="deadlines"
        ),
    ]
    log.info(
        "bot running: Telegram long polling, web app on %s:%s",
        app.settings.web_host,
        app.settings.web_port,
    )
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        for task in tasks[1:]:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await channel.stop()
