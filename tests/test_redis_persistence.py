"""A Redis that keeps nothing across a restart loses every unopened one-time link: the bot
says so when it starts and in /readyz. Each test runs a Redis server of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from chatbot.app import App, create_app
from chatbot.runner import web_server
from chatbot.settings import Settings
from chatbot.store.redis_store import RedisStore
from tests.system.processes import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server to run one of its own"
)

NOT_PERSISTENT = "Redis keeps no data across a restart"

Start = Callable[..., Awaitable[str]]


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[Start]:
    """Starts a Redis with the given options; its URL. Stopped after the test."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(*options: str) -> str:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            *options,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        processes.append(process)
        for pause in [0.05 * 2**n for n in range(8)]:  # until it answers (a process start)
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                return f"redis://127.0.0.1:{port}/0"
            await asyncio.sleep(pause)
        raise AssertionError("redis-server did not start")

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await process.wait()


@pytest.fixture
def on_redis(
    settings: Settings, engine: AsyncEngine, redis_server: Start
) -> Callable[..., Awaitable[App]]:
    """Builds the bot's app on a Redis started with the given options."""

    async def build(*options: str) -> App:
        url = await redis_server(*options)
        return await create_app(settings.model_copy(update={"redis_url": url}))

    return build


async def readyz(app: App) -> httpx.Response:
    """/readyz of the web app the runner serves."""
    web = web_server(app, None).config.app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://127.0.0.1"
    ) as http:
        return await http.get("/readyz")


async def test_a_redis_that_keeps_nothing_is_warned_about_at_start_and_in_readyz(
    on_redis: Callable[..., Awaitable[App]], caplog: pytest.LogCaptureFixture
) -> None:
    app = await on_redis("--save", "", "--appendonly", "no")
    try:
        assert isinstance(app.store, RedisStore)
        assert await app.store.persistence() is False

        caplog.clear()
        with caplog.at_level(logging.INFO, logger="chatbot"):
            await app.warn_at_start()
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and NOT_PERSISTENT in warned[0].getMessage()
        assert "appendonly yes" in warned[0].getMessage()

        response = await readyz(app)
        assert response.status_code == 200  # it works; it just must not be restarted so
        assert response.json()["status"] == "ok"
        assert any(NOT_PERSISTENT in w for w in response.json()["warnings"])
    finally:
        await app.close()


@pytest.mark.parametrize(
    "options",
    [("--appendonly", "yes", "--save", ""), ("--save", "3600 1", "--appendonly", "no")],
    ids=["append-only file", "snapshots"],
)
async def test_a_redis_that_keeps_its_data_is_not_warned_about(
    on_redis: Callable[..., Awaitable[App]],
    caplog: pytest.LogCaptureFixture,
    options: tuple[str, ...],
) -> None:
    app = await on_redis(*options)
    try:
        assert isinstance(app.store, RedisStore)
        assert await app.store.persistence() is True
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="chatbot"):
            await app.warn_at_start()
        assert not [r for r in caplog.records if r.levelno >= logging.INFO]
        response = await readyz(app)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        await app.close()


async def test_a_redis_that_hides_its_configuration_is_tolerated(
    on_redis: Callable[..., Awaitable[App]], caplog: pytest.LogCaptureFixture
) -> None:
    app = await on_redis("--save", "", "--appendonly", "no", "--rename-command", "CONFIG", "")
    try:
        assert isinstance(app.store, RedisStore)
        assert await app.store.persistence() is None
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="chatbot"):
            await app.warn_at_start()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert any("does not say whether it keeps" in r.getMessage() for r in caplog.records)
        response = await readyz(app)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        await app.close()
