"""Kill -9 the bot while WhatsApp requesters write to it: every message Meta delivered
(stored before its 200, or posted again while the bot was down) is answered once after
the restart, in order, as in a run without kills; nothing lost, nothing twice.

Three requesters walk the start of the intake side by side (each is paced on its own: five
messages in 30 s to one user, so each gets at most five here); one round's taps come in one
batched body, as Meta batches them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from chatbot.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.system.conftest import fresh_fake, stored_outcomes
from tests.system.processes import BotProcess, Kills, Supervisor, bot_env
from tests.system.whatsapp import (
    WaRun,
    fresh_graph,
    kill_at_sends,
    wa_transcript,
    webhook_url,
    whatsapp_env,
)

USERS = ["6281234567101", "6281234567102", "6281234567103"]
# Each round: what every user does (a text, or a tap on a label), and what answers it.
ROUNDS = [
    ("text", "/start", "Pilih menu"),
    ("tap", "Ajukan permohonan", "Langkah 1/9"),
    ("tap", "Reset password", "Langkah 2/9"),
    ("tap", "PPK", "Langkah 3/9"),
]
BATCHED = 3  # this round's taps come in one body
KILL_BEFORE = 2  # before this round the bot is killed, and the round posted while it is down
# The POSTs to the Graph API at which the bot dies (12 answers, and each killed one again);
# each restart takes seconds, so a few kills.
KILL_AT = [2, 7]


async def run_rounds(run: WaRun, bot: BotProcess, killed: Kills | None) -> None:
    for index, (kind, what, expect) in enumerate(ROUNDS):
        if killed is not None and index == KILL_BEFORE:
            process = bot.process
            assert process is not None
            bot.kill9()
            killed.times.append(time.time())  # an answer just accepted may not be recorded
            await process.wait()  # dead: this round's bodies find nobody listening
        before = {user: len(run.graph.sent_to(user)) for user in USERS}
        items = [run.text(u, what) if kind == "text" else run.tap(u, what) for u in USERS]
        if index == BATCHED:
            await run.post(*items)
        else:
            await asyncio.gather(*(run.post(item) for item in items))
        await asyncio.gather(*(run.until(u, expect, before[u]) for u in USERS))


async def whatsapp_run(
    fake: FakeBotApi, graph: FakeGraphApi, env: dict[str, str], log: Path, kills: list[int]
) -> tuple[WaRun, BotProcess, list[float], list[str]]:
    bot = BotProcess({**env, **whatsapp_env(graph)}, log)
    supervisor = Supervisor(bot)
    async with supervisor, httpx.AsyncClient(timeout=10) as http:
        run = WaRun(graph, http, lambda: [webhook_url(bot)])
        with kill_at_sends(graph, [bot], kills) as killed:
            await run_rounds(run, bot, killed if kills else None)
    assert supervisor.exit_codes == [0]  # SIGTERM: a clean exit
    return run, bot, killed.times, killed.methods


@pytest.fixture
async def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The same rounds without kills, on a fresh embedded database."""
    folder = tmp_path_factory.mktemp("wa-reference")
    fake, graph = await fresh_fake(), await fresh_graph()
    try:
        env = bot_env(
            fake,
            database_url=f"sqlite+aiosqlite:///{folder / 'bot.db'}",
            redis_url="",
            prefix="ref:",
            storage=folder / "files",
        )
        await whatsapp_run(fake, graph, env, folder / "bot.log", [])
        shown, excused = wa_transcript(graph, USERS)
        assert excused == []
        graph.assert_no_violations()
        return shown
    finally:
        await graph.stop()
        await fake.stop()


async def test_whatsapp_messages_around_kill_9_are_answered_once_after_the_restart(
    reference: dict[str, list[str]],
    crash_fake: FakeBotApi,
    settings: Settings,
    engine: object,
    store: object,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    graph = await fresh_graph()
    try:
        env = bot_env(
            crash_fake,
            database_url=settings.database_url,
            redis_url=TEST_REDIS_URL,
            prefix=redis_prefix,
            storage=tmp_path / "files",
        )
        log = tmp_path / "bot.log"
        run, bot, kill_times, killed = await whatsapp_run(crash_fake, graph, env, log, KILL_AT)

        assert killed == ["messages"] * len(KILL_AT)  # every kill happened, at a send
        assert bot.starts == len(KILL_AT) + 2  # and the one between rounds
        assert run.refused > 0  # some bodies were posted while nobody was listening
        shown, excused = wa_transcript(graph, USERS, kill_times)
        for user in USERS:  # each requester saw what a run without kills shows, once each
            assert shown[user] == reference[user], (user, shown[user], reference[user])
        assert len(excused) <= len(kill_times), excused
        graph.assert_no_violations()

        outcomes, _states = await stored_outcomes(settings.database_url)
        assert len(run.wamids) == len(USERS) * len(ROUNDS)
        assert {outcomes.get(wamid) for wamid in run.wamids} == {"handled"}  # none lost
    finally:
        await graph.stop()
