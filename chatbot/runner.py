"""Run modes: Telegram by long polling (one process) or webhook (one of several workers),
each with the web app and the pipeline (its worker and periodic jobs), and a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.routing import BaseRoute

from chatbot.app import App, telegram_bot
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
    bot = telegram_bot(app)
    channel, pipeline = bot.channel, bot.pipeline
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    routes = [webhook_route(channel.receive, _webhook_secret(settings))] if webhook else []
    server = web_server(app, pipeline.messengers, routes)
    await app.warn_at_start()
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
        await pipeline.drain()
        await bot.stop()
        log.info("stopped")
    if broken is not None:
        raise SystemExit(1)


def _webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret
    if secret is None:
        raise SystemExit("chatbot serve needs TELEGRAM_WEBHOOK_SECRET")
    return secret.get_secret_value()
