"""The web app: the requester's one-time link pages, the admin's hand-over form, health checks.

Every response carries the security headers (no-store, no-referrer, strict CSP, no framing,
noindex); no link id, form token, key or secret is ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from chatbot.conversations.context import Services
from chatbot.conversations.messengers import Messengers
from chatbot.services.ratelimit import RateLimiter
from chatbot.web.forms import AdminFormPages
from chatbot.web.guards import Guard
from chatbot.web.links import LinkPages
from chatbot.web.security import (
    SECURITY_HEADERS,
    RedactLinkPaths,
    WebApp,
    redact,
    uvicorn_log_config,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def create_web_app(
    services: Services,
    *,
    messengers: Messengers | None = None,
    readiness: Callable[[], Awaitable[bool]] | None = None,
    warnings: Callable[[], Awaitable[list[str]]] | None = None,
    public_url: str | None = None,
    bot_token: str | None = None,
    require_webapp: bool = False,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Build the app.

    `messengers` send what the admin's form hands over (None: the form answers 503).
    `readiness` decides /readyz; `warnings` adds what the operator should fix though the bot
    is ready (Redis without persistence) to its answer.
    `public_url` (PUBLIC_URL) is accepted as an origin besides the request's own Host, for a
    reverse proxy that rewrites Host. `bot_token` checks Telegram Web App init data;
    `require_webapp` (WEBAPP_BINDING) makes that binding mandatory. `extra_routes`: the
    webhook and /metrics, which the runner adds.
    """
    guard = Guard(RateLimiter(services.store), services.store, public_url)
    links = LinkPages(services, guard, bot_token=bot_token, require_webapp=require_webapp)
    forms = AdminFormPages(
        services, guard, messengers, bot_token=bot_token, require_webapp=require_webapp
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready = True
        if readiness is not None:
            try:
                ready = await readiness()
            except Exception as exc:
                log.warning("readiness check failed: %s", type(exc).__name__)
                ready = False
        if ready:
            found: list[str] = []
            if warnings is not None:
                try:
                    found = await warnings()
                except Exception as exc:
                    log.warning("readiness warnings failed: %s", type(exc).__name__)
            return JSONResponse({"status": "ok", **({"warnings": found} if found else {})})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *links.routes(),
        *forms.routes(),
        *extra_routes,
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return WebApp(routes=routes)


__all__ = [
    "SECURITY_HEADERS",
    "RedactLinkPaths",
    "create_web_app",
    "redact",
    "uvicorn_log_config",
]
