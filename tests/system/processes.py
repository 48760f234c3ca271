"""Real `chatbot` processes against the fake Bot API: started, killed with SIGKILL, restarted.

A scripted SOP run (`script.py`) drives the fake's users and waits on what the bot shows
them; a Supervisor restarts every process that dies until the test is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.harness import GROUP, TOKEN
from tests.fakes.bot_api import FakeBotApi

CHATBOT = Path(sys.executable).parent / "chatbot"
SECRET = "system-test-webhook-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(
    fake: FakeBotApi, *, database_url: str, redis_url: str, prefix: str, storage: Path
) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {
        **keep,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_ADMIN_CHAT_ID": str(GROUP),
        "TELEGRAM_API_URL": fake.base_url,
        "TELEGRAM_FILE_URL": fake.file_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_TIMEOUT": "5s",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "PUBLIC_URL": "https://bot.example.go.id",
        "STORAGE_DIR": str(storage),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PTB_TIMEDELTA": "true",
    }


@dataclass
class BotProcess:
    """One `chatbot run` (polling) or `chatbot serve` (webhook) process, restartable."""

    env: dict[str, str]
    log: Path
    command: str = "run"
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    async def start(self) -> None:
        env = {**self.env, "WEB_PORT": str(self.port)}
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(CHATBOT), self.command, env=env, stdout=log, stderr=log
            )
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.returncode is None else None

    def kill9(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)

    async def terminate(self) -> int:
        """SIGTERM, then wait for a graceful exit (its exit code)."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=30)

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []


class Supervisor:
    """Restarts its processes whenever one dies, as systemd's Restart=always would."""

    def __init__(self, *bots: BotProcess) -> None:
        self.bots = bots
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.exit_codes: list[int] = []

    async def __aenter__(self) -> Supervisor:
        for bot in self.bots:
            await bot.start()
            self._tasks.append(asyncio.create_task(self._watch(bot)))
        return self

    async def _watch(self, bot: BotProcess) -> None:
        while not self._stopping:
            assert bot.process is not None
            await bot.process.wait()
            if self._stopping:
                return
            await bot.start()

    async def __aexit__(self, *exc: object) -> None:
        """Stop as systemd does: SIGTERM, a graceful exit (recorded in `exit_codes`)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for bot in self.bots:
            try:
                self.exit_codes.append(await bot.terminate())
            finally:
                await bot.stop()


async def listening(http: httpx.AsyncClient, bot: BotProcess) -> None:
    """Until the process's web server answers: it binds a moment after the process asked
    Telegram for its webhook (a retry with backoff against a process start)."""
    for pause in [0.05 * 2**n for n in range(10)]:
        try:
            await http.get(f"http://127.0.0.1:{bot.port}/healthz")
        except httpx.TransportError:
            await asyncio.sleep(pause)
            continue
        return
    raise AssertionError(f"nothing listens on port {bot.port}; see {bot.log}")


@dataclass
class Kills:
    methods: list[str] = field(default_factory=list)  # the calls the kills interrupted
    times: list[float] = field(default_factory=list)  # when (time.time())


@contextlib.contextmanager
def kill_at(fake: FakeBotApi, bots: list[BotProcess], targets: list[int]) -> Iterator[Kills]:
    """SIGKILL a bot the moment it makes its N-th effectful Bot API call, for each N in
    `targets` (counted over the whole run); the call itself never reaches "Telegram"."""
    counted = 0
    remaining = sorted(targets)
    killed = Kills()
    effectful = {
        "sendMessage",
        "editMessageText",
        "sendMediaGroup",
        "sendDocument",
        "answerCallbackQuery",
        "deleteMessage",
        "getFile",
        "getChatAdministrators",
    }

    def before_call(method: str, params: dict[str, object]) -> bool:
        nonlocal counted
        if method not in effectful:
            return False
        counted += 1
        if remaining and counted >= remaining[0]:
            remaining.pop(0)
            for bot in bots:
                bot.kill9()
            killed.methods.append(method)
            killed.times.append(time.time())
            return True
        return False

    fake.before_call = before_call
    try:
        yield killed
    finally:
        fake.before_call = None
