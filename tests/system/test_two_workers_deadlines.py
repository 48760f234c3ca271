"""Two `chatbot serve` workers on one PostgreSQL and Redis sweep the same overdue steps: each
reminder and each escalation reaches Telegram exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import OutboxMessage
from chatbot.services.documents import DocumentStore
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.e2e.harness import GROUP
from tests.factories import submitted_ticket
from tests.fakes.bot_api import FakeBotApi
from tests.system.processes import BotProcess, Supervisor, bot_env

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL),
    reason="several workers need PostgreSQL and Redis (make test-real)",
)
TICKETS = 3
SUPERVISOR = 8001


@dataclass
class Past:
    """Tickets submitted last week, on a Tuesday morning: long past both deadlines."""

    now: datetime = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)  # 09.00 WIB

    def __call__(self) -> datetime:
        return self.now


async def test_two_workers_send_each_reminder_and_escalation_once(
    crash_fake: FakeBotApi,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    files: DocumentStore,
    store: object,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    fake = crash_fake
    fake.add_user(SUPERVISOR, "Kabag")
    tickets = TicketService(sessions, settings.zone, Past(), policy=settings.sla_policy())
    for n in range(TICKETS):
        await submitted_ticket(tickets, files, chat_id=str(4000 + n))
    env = {
        **bot_env(
            fake,
            database_url=settings.database_url,
            redis_url=TEST_REDIS_URL,
            prefix=redis_prefix,
            storage=settings.storage_dir,
        ),
        "SUPERVISOR_CHAT_ID": str(SUPERVISOR),
    }
    workers = [BotProcess(env, tmp_path / f"worker{i}.log", command="serve") for i in (1, 2)]

    async with Supervisor(*workers), httpx.AsyncClient(timeout=30) as http:

        async def both_swept() -> bool:
            return all([await _deadline_rounds(http, w) >= 1 for w in workers])

        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not await both_swept():  # polled: each worker's first sweep runs at its start
            assert datetime.now(UTC) < deadline, "the workers never ran their deadline sweep"
            await asyncio.sleep(0.2)
        # Every queued message delivered: the reminders in the group, the escalations to the
        # supervisor (the workers' outbox senders take turns).
        await fake.wait_until(
            lambda: (
                len(_texts(fake, SUPERVISOR, "Eskalasi")) >= TICKETS
                and len(_texts(fake, GROUP, "melewati standar")) >= TICKETS
            ),
            timeout=60,
        )
        queued = await _queued(sessions)

    assert queued == {"step_overdue": TICKETS, "escalation": TICKETS}
    assert len(_texts(fake, GROUP, "melewati standar")) == TICKETS
    assert len(_texts(fake, SUPERVISOR, "Eskalasi")) == TICKETS
    fake.assert_no_violations()


def _texts(fake: FakeBotApi, chat: int, text: str) -> list[str]:
    return [m.content for m in fake.chat_messages(chat) if text in m.content]


async def _queued(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.kind, func.count())
            .where(OutboxMessage.kind.in_(["step_overdue", "escalation"]))
            .group_by(OutboxMessage.kind)
        )
        return {kind: int(count) for kind, count in rows.all()}


async def _deadline_rounds(http: httpx.AsyncClient, worker: BotProcess) -> float:
    """How many deadline sweeps this worker finished (0 while it is still starting)."""
    try:
        response = await http.get(f"http://127.0.0.1:{worker.port}/metrics")
    except httpx.TransportError:
        return 0
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "chatbot_periodic_runs_total"
        and sample.labels.get("task") == "deadlines"
        and sample.labels.get("outcome") == "ok"
    )
