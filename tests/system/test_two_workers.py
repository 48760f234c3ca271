"""Two `chatbot serve` workers on one PostgreSQL and Redis behind the same fake Telegram: the
whole SOP runs with every update delivered to both (as Telegram retries do), and people see
exactly what one worker shows them: no double processing, no order violation."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from chatbot.web.webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.e2e.harness import ADMIN, GROUP, REQUESTER
from tests.fakes.bot_api import FakeBotApi
from tests.system.conftest import assert_same, stored_outcomes
from tests.system.processes import SECRET, BotProcess, Supervisor, bot_env, listening
from tests.system.script import Run, sop_run, transcript

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL),
    reason="several workers need PostgreSQL and Redis (make test-real)",
)


async def test_two_webhook_workers_run_the_sop_once_and_in_order(
    reference: dict[int, list[str]],
    crash_fake: FakeBotApi,
    settings: Settings,
    engine: AsyncEngine,
    store: object,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    fake = crash_fake
    env = bot_env(
        fake,
        database_url=settings.database_url,
        redis_url=TEST_REDIS_URL,
        prefix=redis_prefix,
        storage=tmp_path / "files",
    )
    workers = [BotProcess(env, tmp_path / f"worker{i}.log", command="serve") for i in (1, 2)]
    order = itertools.cycle([(0, 1), (1, 0)])

    supervisor = Supervisor(*workers)
    async with supervisor, httpx.AsyncClient(timeout=30) as http:
        await fake.wait_until(lambda: len(fake.calls_of("setWebhook")) >= 2, timeout=30)
        assert fake.webhook_url == "https://bot.example.go.id" + WEBHOOK_PATH
        for worker in workers:  # Telegram would retry a refused POST; the script does not
            await listening(http, worker)

        async def deliver(update: dict[str, object]) -> None:
            """Telegram's part: post to one worker, and (a retry) the same to the other."""
            for index in next(order):
                url = f"http://127.0.0.1:{workers[index].port}{WEBHOOK_PATH}"
                response = await http.post(url, json=update, headers={SECRET_HEADER: SECRET})
                assert response.status_code == 200

        run = Run(fake, lambda: f"http://127.0.0.1:{workers[0].port}", deliver=deliver)
        await sop_run(run, http)
        # Both did work (each counts what it handled in /metrics), and their sum is the
        # number of updates: none handled twice.
        handled_by = [await _handled(http, w) for w in workers]
        starts = [w.starts for w in workers]

    assert starts == [1, 1]  # nobody crashed
    assert supervisor.exit_codes == [0, 0]  # SIGTERM: both finished their work and exited
    shown, excused = transcript(fake, [REQUESTER, GROUP, ADMIN])
    assert excused == []
    assert_same(shown, reference)
    fake.assert_no_violations()
    outcomes, states = await stored_outcomes(settings.database_url)
    assert {outcomes[u] for u in run.updates} <= {"handled", "ignored"}
    assert len([u for u in run.updates if u in outcomes]) == len(run.updates)
    assert states == [TicketState.ARCHIVED]
    assert all(n > 0 for n in handled_by), handled_by
    assert sum(handled_by) <= len(run.updates)  # delivered twice each, handled once at most


async def _handled(http: httpx.AsyncClient, worker: BotProcess) -> float:
    response = await http.get(f"http://127.0.0.1:{worker.port}/metrics")
    assert response.status_code == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "chatbot_updates_total"
        and sample.labels.get("outcome") in ("handled", "ignored")
    )
