"""Fixtures for end-to-end flows through python-telegram-bot and the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatbot.settings import Settings
from tests.e2e.harness import TOKEN, Harness, bot_settings, populate
from tests.fakes.bot_api import FakeBotApi


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, bot_username="spse_reset_bot") as fake:
        populate(fake)
        yield fake
        fake.assert_no_violations()


@pytest.fixture
async def bot(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[Harness]:
    harness = Harness(fake, bot_settings(settings, fake))
    await harness.start()
    yield harness
    await harness.stop()
