"""Run modes: Telegram by long polling (one process) or webhook (one of several workers),
or the console in this terminal; each with the web app and the pipeline (its worker and
periodic jobs), and a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO, cast

import uvicorn
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from chatbot.app import (
    App,
    ConsoleBot,
    console_bot,
    telegram_bot,
    warn_about_templates,
    whatsapp_requesters,
    whatsapp_webhooks,
)
from chatbot.channels.console.terminal import LineReader, Screen, banner
from chatbot.conversations.messengers import Messengers
from chatbot.settings import Settings
from chatbot.web.app import RedactLinkPaths, create_web_app
from chatbot.web.metrics import metrics_route
from chatbot.web.webhook import WEBHOOK_PATH, webhook_route

log = logging.getLogger(__name__)


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our process: the runner, not uvicorn, owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_server(
    app: App, messengers: Messengers | None, extra_routes: Sequence[BaseRoute] = ()
) -> uvicorn.Server:
    token = app.settings.telegram_bot_token
    metrics_token = app.settings.metrics_token
    metrics = metrics_route(
        app.sessions, metrics_token.get_secret_value() if metrics_token else None
    )
    web = create_web_app(
        app.services,
        messengers=messengers,
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

    settings = app.settings
    bot = telegram_bot(app, requesters=whatsapp_requesters(app))
    channel, pipeline = bot.channel, bot.pipeline
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    routes: list[BaseRoute] = (
        [webhook_route(channel.receive, _webhook_secret(settings))] if webhook else []
    )
    routes += whatsapp_webhooks(app, bot)  # in both modes: WhatsApp has no polling
    server = web_server(app, pipeline.messengers, routes)
    await app.warn_at_start()
    await warn_about_templates(app, bot.requesters)
    await bot.start()
    worker_stop = asyncio.Event()
    web = asyncio.create_task(server.serve(), name="web")
    ingress: asyncio.Task[None] | None = None
    if webhook:
        await channel.set_webhook(settings.public_url + WEBHOOK_PATH, _webhook_secret(settings))
    else:
        ingress = asyncio.create_task(channel.poll(stop), name="polling")
    worker, *periodic = pipeline.start(worker_stop)
    log.info(
        "bot running: Telegram %s%s, web app on %s:%s",
        "webhook" if webhook else "long polling",
        " and the WhatsApp webhook" if bot.requesters else "",
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
        await pipeline.drain()
        await bot.stop()
        log.info("stopped")
    if broken is not None:
        raise SystemExit(1)


class WakeAfterRequests:
    """The web app, waking the console after each request: what a page did (a form handed
    a result over, a link was opened) shows in the chats at once."""

    def __init__(self, app: ASGIApp, wake: Callable[[], None]) -> None:
        self._app = app
        self._wake = wake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self._wake()


@contextlib.contextmanager
def _uvicorn_quiet() -> Iterator[None]:
    """The banner says where the web app listens; uvicorn's start-up and access lines would
    only interleave with the chats (errors still show)."""
    quiet = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn.access")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


async def _serve_console_web(server: uvicorn.Server) -> None:
    """Serve the web app; a port already in use must not end the console."""
    try:
        await server.serve()
    except SystemExit:
        log.error("web app did not start; one-time links cannot be opened from this console")


async def run_console(
    app: App,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    serve_web: bool = True,
    bot: ConsoleBot | None = None,
) -> None:
    """Chat with the bot in this terminal until EOF, :keluar or Ctrl-C.

    The pipeline (its worker and periodic jobs) and the web app (for one-time links) run
    alongside; what they make the bot say (a link opened in the browser, a reminder) prints
    as it comes, followed by the prompt again, while the console waits for a line. `bot`:
    one already composed (tests).
    """
    bot = bot if bot is not None else console_bot(app)
    session, pipeline = bot.session, bot.pipeline
    source = stdin if stdin is not None else sys.stdin
    screen = Screen(session, stdout if stdout is not None else sys.stdout)
    reader = LineReader(source)
    stop = asyncio.Event()
    with _uvicorn_quiet():
        server = web_server(app, pipeline.messengers) if serve_web else None
        web: asyncio.Task[None] | None = None
        if server is not None:
            page = cast(ASGIApp, server.config.app)  # the Starlette app web_server built
            server.config.app = WakeAfterRequests(page, session.wake)
            web = asyncio.create_task(_serve_console_web(server), name="web")
        # A sweep's reminder or expired link shows at once.
        jobs = pipeline.start(stop, after_deadlines=session.wake)
        arrivals = asyncio.create_task(screen.show_arrivals(), name="arrivals")
        screen.write(banner(app.settings, serve_web))
        try:
            await screen.converse(reader, echo_lines=not source.isatty())
        finally:
            reader.close()
            if server is not None:
                server.should_exit = True
            arrivals.cancel()
            stop.set()  # the worker and the jobs finish what they hold, then end
            await asyncio.gather(arrivals, *jobs, *([web] if web else []), return_exceptions=True)
            await pipeline.drain()
            screen.write("Sampai jumpa.\n")


def _webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret
    if secret is None:
        raise SystemExit("chatbot serve needs TELEGRAM_WEBHOOK_SECRET")
    return secret.get_secret_value()
