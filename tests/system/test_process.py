"""The process as a service manager sees it: a broken start ends it with a failure code."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.fakes.bot_api import FakeBotApi
from tests.system.processes import BotProcess, bot_env


async def test_a_worker_whose_port_is_taken_exits_with_a_failure(
    crash_fake: FakeBotApi, tmp_path: Path
) -> None:
    env = bot_env(
        crash_fake,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        redis_url="",
        prefix="port:",
        storage=tmp_path / "files",
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bot = BotProcess(env, tmp_path / "bot.log", command="serve")
        bot.port = taken.getsockname()[1]
        await bot.start()
        assert bot.process is not None
        code = await asyncio.wait_for(bot.process.wait(), timeout=60)
    assert code != 0  # so systemd (Restart=always) or Docker starts it again
    assert any("address already in use" in line.lower() for line in bot.log_lines())
