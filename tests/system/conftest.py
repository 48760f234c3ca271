"""Fixtures for whole runs of real `chatbot` processes against the fake Bot API."""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from chatbot.db.engine import create_engine
from chatbot.db.models import InboxUpdate, Ticket
from chatbot.services.enums import TicketState
from tests.e2e.harness import ADMIN, GROUP, REQUESTER, TOKEN, populate
from tests.fakes.bot_api import FakeBotApi
from tests.system.processes import BotProcess, Supervisor, bot_env, kill_at
from tests.system.script import Run, sop_run, transcript


@dataclass
class Outcome:
    shown: dict[int, list[str]]  # what each chat shows
    excused: list[str]  # repeats of messages in flight at a kill
    killed: list[str]  # the calls the kills interrupted
    updates: list[str]  # every update id the people sent
    starts: int  # how often the bot process was started


async def run_sop(fake: FakeBotApi, env: dict[str, str], log: Path, kills: list[int]) -> Outcome:
    bot = BotProcess(env, log)
    supervisor = Supervisor(bot)
    async with supervisor, httpx.AsyncClient(timeout=10) as http:
        with kill_at(fake, [bot], kills) as killed:
            run = Run(fake, lambda: f"http://127.0.0.1:{bot.port}")
            await sop_run(run, http)
    assert supervisor.exit_codes == [0]  # SIGTERM: in-flight work finished, a clean exit
    shown, excused = transcript(fake, [REQUESTER, GROUP, ADMIN], killed.times)
    return Outcome(shown, excused, killed.methods, run.updates, bot.starts)


async def fresh_fake() -> FakeBotApi:
    fake = FakeBotApi(token=TOKEN, bot_username="spse_reset_bot")
    await fake.start()
    populate(fake)
    return fake


@pytest.fixture
async def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    """The same run without kills, on a fresh embedded database."""
    folder = tmp_path_factory.mktemp("reference")
    fake = await fresh_fake()
    try:
        env = bot_env(
            fake,
            database_url=f"sqlite+aiosqlite:///{folder / 'bot.db'}",
            redis_url="",
            prefix="ref:",
            storage=folder / "files",
        )
        outcome = await run_sop(fake, env, folder / "bot.log", [])
        assert outcome.killed == [] and outcome.excused == []
        fake.assert_no_violations()
        return outcome.shown
    finally:
        await fake.stop()


@pytest.fixture
async def crash_fake() -> AsyncIterator[FakeBotApi]:
    fake = await fresh_fake()
    yield fake
    await fake.stop()


async def stored_outcomes(database_url: str) -> tuple[dict[str, str | None], list[TicketState]]:
    """Each stored update's outcome, and the tickets' states, as the database has them."""
    check = create_engine(database_url)
    try:
        async with check.connect() as connection:
            rows = (
                await connection.execute(select(InboxUpdate.update_id, InboxUpdate.outcome))
            ).all()
            states = (await connection.execute(select(Ticket.state))).scalars().all()
    finally:
        await check.dispose()
    return {row[0]: row[1] for row in rows}, list(states)


def assert_same(
    shown: dict[int, list[str]], reference: dict[int, list[str]], log: Path | None = None
) -> None:
    """Every chat shows what the reference run showed; a failure prints the difference."""
    for chat, expected in reference.items():
        if shown.get(chat) != expected:
            diff = "\n".join(
                difflib.unified_diff(
                    [t[:150] for t in expected],
                    [t[:150] for t in shown.get(chat, [])],
                    "reference",
                    "this run",
                    lineterm="",
                )
            )
            warnings = (
                [line[:300] for line in log.read_text().splitlines() if '"INFO"' not in line]
                if log is not None and log.exists()
                else []
            )
            noted = "\n".join(warnings[-40:])
            raise AssertionError(
                f"chat {chat} differs from the reference run:\n{diff}\nbot log:\n{noted}"
            )
