"""GET /metrics: the exposition parses, the database gauges match the rows, the counters count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from chatbot.app import create_app
from chatbot.db.engine import create_engine, create_sessionmaker
from chatbot.db.models import InboxUpdate, OutboxMessage, StepRecord
from chatbot.metrics import (
    REGISTRY,
    collect_database,
    record_platform_error,
    record_sent,
    record_update,
)
from chatbot.runner import web_server
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import Step, TicketState
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.web.metrics import metrics_route
from tests.factories import REQUESTER, submitted_ticket

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(sessions: async_sessionmaker[AsyncSession]) -> tuple[httpx.Response, Samples]:
    app = Starlette(routes=[metrics_route(sessions)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/metrics")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return response, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


async def test_an_empty_database_gives_every_series_at_zero(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    response, samples = await scrape(sessions)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert value(samples, "chatbot_database_up") == 1
    for state in TicketState:
        assert value(samples, "chatbot_tickets", state=state.value) == 0
    for name in (
        "chatbot_inbox_pending",
        "chatbot_inbox_oldest_age_seconds",
        "chatbot_outbox_pending",
        "chatbot_outbox_oldest_age_seconds",
        "chatbot_outbox_failed_total",
        "chatbot_sla_breaches",
    ):
        assert value(samples, name) == 0, name
    assert any(name == "python_info" for name, _ in samples)  # the platform collector


async def test_inbox_and_outbox_depth_and_age(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add_all(
            [
                # inbox: two pending (the oldest 90 s old), one handled long ago
                InboxUpdate(
                    channel="telegram",
                    update_id="1",
                    chat_key="telegram:1",
                    kind="message",
                    received_at=ago(hours=5),
                    handled_at=ago(hours=5),
                    outcome="handled",
                ),
                InboxUpdate(
                    channel="telegram",
                    update_id="2",
                    chat_key="telegram:1",
                    kind="message",
                    received_at=ago(seconds=90),
                ),
                InboxUpdate(
                    channel="telegram", update_id="3", chat_key="telegram:2", kind="callback_query"
                ),
                # outbox: two pending (the oldest two hours old), one sent, two failed
                OutboxMessage(audience="admins", kind="card", created_at=ago(hours=2)),
                OutboxMessage(audience="admins", kind="card"),
                OutboxMessage(
                    audience="requester",
                    kind="receipt",
                    created_at=ago(days=3),
                    sent_at=ago(days=3),
                ),
                OutboxMessage(
                    audience="requester",
                    kind="receipt",
                    created_at=ago(days=2),
                    failed_at=ago(days=1),
                ),
                OutboxMessage(
                    audience="requester",
                    kind="receipt",
                    created_at=ago(days=2),
                    sent_at=ago(days=2),
                    failed_at=ago(days=1),
                ),
            ]
        )

    _, samples = await scrape(sessions)

    assert value(samples, "chatbot_inbox_pending") == 2
    assert 90 <= value(samples, "chatbot_inbox_oldest_age_seconds") < 90 + 60
    assert value(samples, "chatbot_outbox_pending") == 2
    assert 7200 <= value(samples, "chatbot_outbox_oldest_age_seconds") < 7200 + 60
    assert value(samples, "chatbot_outbox_failed_total") == 2


async def test_tickets_by_state_and_sla_breaches(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketService, files: DocumentStore
) -> None:
    late = await submitted_ticket(tickets, files, chat_id="1001")
    on_time = await submitted_ticket(tickets, files, chat_id="1002")
    cancelled = await submitted_ticket(tickets, files, chat_id="1003")
    await tickets.cancel(
        ticket_id=cancelled.id, channel="telegram", chat_id="1003", actor=REQUESTER
    )
    async with sessions.begin() as session:
        # The late ticket's open completeness check was due (on the office clock) an hour ago;
        # the cancelled ticket's steps were too, but finished steps never breach.
        await session.execute(
            update(StepRecord)
            .where(StepRecord.ticket_id.in_([late.id, cancelled.id]))
            .values(due_at=ago(hours=1))
        )
        # The on-time ticket's completeness check is due in a minute.
        await session.execute(
            update(StepRecord)
            .where(StepRecord.ticket_id == on_time.id, StepRecord.finished_at.is_(None))
            .values(due_at=ago(minutes=-1))
        )
        # A step without a time standard (the requester's supplement) has no deadline.
        session.add(StepRecord(ticket_id=on_time.id, step=Step.SUPPLEMENT, started_at=ago(days=3)))
        # A validity check due a minute ago breaches too.
        session.add(
            StepRecord(
                ticket_id=on_time.id,
                step=Step.CHECK_VALIDITY,
                started_at=ago(minutes=11),
                standard_minutes=10,
                due_at=ago(minutes=1),
            )
        )
        open_steps = (
            await session.scalars(
                select(StepRecord.step).where(
                    StepRecord.ticket_id == late.id, StepRecord.finished_at.is_(None)
                )
            )
        ).all()
    assert open_steps == [Step.CHECK_COMPLETENESS]

    _, samples = await scrape(sessions)

    assert value(samples, "chatbot_tickets", state="submitted") == 2
    assert value(samples, "chatbot_tickets", state="cancelled") == 1
    others = set(TicketState) - {TicketState.SUBMITTED, TicketState.CANCELLED}
    assert all(value(samples, "chatbot_tickets", state=s.value) == 0 for s in others)
    assert value(samples, "chatbot_sla_breaches") == 2


async def test_counters_and_the_histogram_count_what_the_helpers_record(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, before = await scrape(sessions)

    record_update("telegram", "message", "handled", 0.003)
    record_update("telegram", "message", "handled", 0.2)
    record_update("telegram", "callback_query", "duplicate", None)
    record_update("telegram", "message", "something-new", None)
    record_platform_error("telegram", "sendMessage", "rate_limited")
    record_platform_error("telegram", "sendMessage", "surprise")
    record_sent("receipt")
    record_sent("receipt")

    _, after = await scrape(sessions)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    updates = "chatbot_updates_total"
    assert delta(updates, channel="telegram", kind="message", outcome="handled") == 2
    assert delta(updates, channel="telegram", kind="callback_query", outcome="duplicate") == 1
    assert delta(updates, channel="telegram", kind="message", outcome="other") == 1
    histogram = "chatbot_update_handling_seconds"
    assert delta(f"{histogram}_count", channel="telegram") == 2
    assert delta(f"{histogram}_sum", channel="telegram") == pytest.approx(0.203)
    assert delta(f"{histogram}_bucket", channel="telegram", le="0.005") == 1
    assert delta(f"{histogram}_bucket", channel="telegram", le="0.25") == 2
    assert delta(f"{histogram}_bucket", channel="telegram", le="+Inf") == 2
    errors = "chatbot_platform_errors_total"
    assert delta(errors, channel="telegram", method="sendMessage", kind="rate_limited") == 1
    assert delta(errors, channel="telegram", method="sendMessage", kind="other") == 1
    assert delta("chatbot_outbox_sent_total", kind="receipt") == 2


async def test_a_broken_database_still_serves_the_process_metrics(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    try:
        response, samples = await scrape(create_sessionmaker(broken))
    finally:
        await broken.dispose()

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert value(samples, "chatbot_database_up") == 0
    assert any(name == "python_info" for name, _ in samples)

    _, samples = await scrape(sessions)
    assert value(samples, "chatbot_database_up") == 1


async def test_a_slow_database_counts_as_down(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(TimeoutError):
        await collect_database(sessions, timeout=0)
    assert REGISTRY.get_sample_value("chatbot_database_up") == 0

    _, samples = await scrape(sessions)
    assert value(samples, "chatbot_database_up") == 1


# ---- who may read /metrics -------------------------------------------------------------------

METRICS_TOKEN = "prometheus-scrape-token-0123456789"


async def fetch(
    app: ASGIApp, *, client: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> int:
    transport = httpx.ASGITransport(app=app, client=(client, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/metrics", headers=headers)
    return response.status_code


async def test_without_a_token_metrics_are_served_to_this_host_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app = Starlette(routes=[metrics_route(sessions)])
    assert await fetch(app, client="127.0.0.1") == 200
    assert await fetch(app, client="::1") == 200
    assert await fetch(app, client="203.0.113.5") == 403
    assert await fetch(app, client="10.20.30.7") == 403
    # Through nginx on this host: uvicorn takes the client from X-Forwarded-For.
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    assert await fetch(proxied, headers={"X-Forwarded-For": "203.0.113.5"}) == 403
    assert await fetch(proxied, headers={"X-Forwarded-For": "127.0.0.1"}) == 200


async def test_with_a_token_metrics_need_it_from_everyone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app = Starlette(routes=[metrics_route(sessions, METRICS_TOKEN)])
    assert await fetch(app) == 401  # this host too
    for wrong in ("", "Bearer", f"Bearer {METRICS_TOKEN[:-1]}", f"Basic {METRICS_TOKEN}"):
        assert await fetch(app, client="10.20.30.7", headers={"Authorization": wrong}) == 401
    for right in (f"Bearer {METRICS_TOKEN}", f"bearer {METRICS_TOKEN}"):
        assert await fetch(app, client="10.20.30.7", headers={"Authorization": right}) == 200


async def test_the_app_port_serves_metrics_only_as_configured(settings: Settings) -> None:
    """What `chatbot run` / `chatbot serve` listen with: the public pages and /metrics."""
    for token, client, headers, status in [
        (None, "203.0.113.5", {}, 403),
        (None, "127.0.0.1", {}, 200),
        (METRICS_TOKEN, "203.0.113.5", {}, 401),
        (METRICS_TOKEN, "203.0.113.5", {"Authorization": f"Bearer {METRICS_TOKEN}"}, 200),
    ]:
        app = await create_app(
            settings.model_copy(update={"metrics_token": token and SecretStr(token)})
        )
        try:
            web = web_server(app, None).config.app
            assert await fetch(web, client=client, headers=headers) == status, (token, client)
        finally:
            await app.close()
