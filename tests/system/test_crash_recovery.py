"""Kill -9 the bot at many points of a whole SOP run; after each restart it goes on, and the
people see exactly what they see in a run without kills: nothing lost, nothing twice."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.fakes.bot_api import FakeBotApi
from tests.system.conftest import assert_same, run_sop, stored_outcomes
from tests.system.processes import bot_env

# Effectful Bot API calls (sends, edits, downloads, tap answers) at which the bot dies:
# spread over intake, the group's decisions, the hand-over and the confirmation.
KILL_AT = [2, 5, 9, 14, 19, 24, 29, 34, 39, 44]


async def test_kill_9_at_many_points_loses_nothing_and_repeats_nothing(
    reference: dict[int, list[str]],
    crash_fake: FakeBotApi,
    settings: Settings,
    engine: AsyncEngine,
    store: object,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    env = bot_env(
        crash_fake,
        database_url=settings.database_url,
        redis_url=TEST_REDIS_URL,
        prefix=redis_prefix,
        storage=tmp_path / "files",
    )
    outcome = await run_sop(crash_fake, env, tmp_path / "bot.log", KILL_AT)
    updates = outcome.updates

    assert len(outcome.killed) == len(KILL_AT), outcome.killed  # every kill happened
    assert outcome.starts == len(KILL_AT) + 1
    # The same messages, each once, in the same order; a message Telegram accepted in the
    # instant before a kill may repeat once (no idempotency key in the Bot API), never more.
    assert_same(outcome.shown, reference, tmp_path / "bot.log")
    assert len(outcome.excused) <= len(KILL_AT), outcome.excused
    crash_fake.assert_no_violations()

    outcomes, states = await stored_outcomes(settings.database_url)
    assert set(updates) <= set(outcomes)  # every update acknowledged was stored ...
    assert {outcomes[u] for u in updates} <= {"handled", "ignored"}  # ... and handled
    assert states == [TicketState.ARCHIVED]  # one ticket, to its end
