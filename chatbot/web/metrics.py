"""GET /metrics: the Prometheus text exposition of `chatbot.metrics.REGISTRY`.

It shares the app's port with the public pages, so it is guarded: with METRICS_TOKEN set,
only a request carrying `Authorization: Bearer <token>` is served; without it, only a client
on this host (loopback; behind a proxy, the client it forwards: uvicorn takes it from
X-Forwarded-For when the proxy is in FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatbot.metrics import REGISTRY, collect_database

log = logging.getLogger(__name__)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _bearer_matches(request: Request, token: bytes) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Constant time: how long a refusal takes tells nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token)


def metrics_route(sessions: async_sessionmaker[AsyncSession], token: str | None = None) -> Route:
    """The route; each scrape reads the database first. When the database fails the process
    metrics are still served, with chatbot_database_up 0 (collect_database sets it).
    `token` (METRICS_TOKEN): required as a bearer token; None: loopback clients only."""
    expected = token.encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None and not _bearer_matches(request, expected):
            return JSONResponse(
                {"error": "unauthorized"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
            )
        if expected is None and not _loopback(request):
            log.warning("a /metrics request from another host refused (METRICS_TOKEN unset)")
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            await collect_database(sessions)
        except Exception as exc:
            log.warning("metrics: database not readable: %s", type(exc).__name__)
        return Response(
            generate_latest(REGISTRY),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    return Route("/metrics", metrics, methods=["GET"], name="metrics")
