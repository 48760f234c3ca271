"""PostgreSQL and Redis go away in the middle of a conversation and come back: the bot
recovers by itself and loses nothing (people see what a run without outages shows)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.e2e.harness import ADMIN, GROUP, REQUESTER
from tests.fakes.bot_api import FakeBotApi
from tests.system.conftest import assert_same, stored_outcomes
from tests.system.processes import BotProcess, Supervisor, bot_env, free_port
from tests.system.script import Run, sop_run, transcript

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL or shutil.which("pg_ctlcluster") is None,
    reason="restarts the PostgreSQL server of make test-real",
)
PG_CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main"]


def _postgres(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    command = [*PG_CLUSTER[:2], version, "main", action]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


class PersistentRedis:
    """A Redis of the test's own that keeps its data on disk (appendonly), as production's
    must: stopping and starting it loses nothing."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for pause in [0.05 * 2**n for n in range(8)]:  # until it answers (a process start)
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(pause)
        raise AssertionError("redis-server did not start")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            await self.process.wait()


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[PersistentRedis]:
    server = PersistentRedis(tmp_path)
    await server.start()
    yield server
    await server.stop()


async def test_postgresql_and_redis_restarts_lose_nothing(
    reference: dict[int, list[str]],
    crash_fake: FakeBotApi,
    redis: PersistentRedis,
    settings: Settings,
    engine: AsyncEngine,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    fake = crash_fake
    env = bot_env(
        fake,
        database_url=settings.database_url,
        redis_url=redis.url,
        prefix=redis_prefix,
        storage=tmp_path / "files",
    )
    restored: list[asyncio.Task[None]] = []

    def outage(
        stop: Callable[[], Awaitable[None]], start: Callable[[], Awaitable[None]]
    ) -> Callable[[], Awaitable[None]]:
        async def staged() -> None:
            await stop()
            since = len(fake.calls)

            async def come_back() -> None:
                # Back once the bot has been handed the update it cannot store or handle.
                await fake.wait_for_call(
                    "getUpdates", lambda c: bool(c.ok and c.result), timeout=30, since=since
                )
                await start()

            restored.append(asyncio.create_task(come_back()))

        return staged

    async def pg_stop() -> None:
        await asyncio.to_thread(_postgres, "stop")

    async def pg_start() -> None:
        await asyncio.to_thread(_postgres, "start")

    staged = {
        "1985 0312 2010 01 1 004": outage(pg_stop, pg_start),  # the NIP, while PG is down
        "budi@magelangkota.go.id": outage(redis.stop, redis.start),  # the email, Redis down
    }

    async def before(text: str) -> None:
        if text in staged:
            await staged.pop(text)()

    bot = BotProcess(env, tmp_path / "bot.log")
    supervisor = Supervisor(bot)
    try:
        async with supervisor, httpx.AsyncClient(timeout=10) as http:
            run = Run(fake, lambda: f"http://127.0.0.1:{bot.port}", before=before)
            await sop_run(run, http)
    finally:
        await asyncio.gather(*restored, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(_postgres, "start")  # never leave the server down

    assert staged == {}  # both outages happened
    assert bot.starts == 1 and supervisor.exit_codes == [0]  # recovered without a restart
    shown, excused = transcript(fake, [REQUESTER, GROUP, ADMIN])
    assert excused == []
    assert_same(shown, reference)
    outcomes, states = await stored_outcomes(settings.database_url)
    assert {outcomes[u] for u in run.updates} <= {"handled", "ignored"}
    assert states == [TicketState.ARCHIVED]
