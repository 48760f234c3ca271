"""GET /metrics: the Prometheus text exposition of `chatbot.metrics.REGISTRY`."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatbot.metrics import REGISTRY, collect_database

log = logging.getLogger(__name__)


def metrics_route(sessions: async_sessionmaker[AsyncSession]) -> Route:
    """The route; each scrape reads the database first. When the database fails the process
    metrics are still served, with chatbot_database_up 0 (collect_database sets it)."""

    async def metrics(request: Request) -> Response:
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
