"""The fake's flood control refuses what Telegram would, and only that."""

from __future__ import annotations

import httpx

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_flood import FloodControl, Window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_thirty_messages_a_second_in_all_then_429_with_the_wait() -> None:
    clock = Clock()
    flood = FloodControl(clock=clock)
    assert [flood.check("sendMessage", chat) for chat in range(1, 31)] == [None] * 30
    assert flood.check("sendMessage", 31) == 1
    clock.now += 1.0
    assert flood.check("sendMessage", 31) is None
    assert flood.refused == 1


def test_one_chat_gets_a_short_burst_then_about_one_a_second() -> None:
    clock = Clock()
    flood = FloodControl(clock=clock)
    assert [flood.check("sendMessage", 7) for _ in range(3)] == [None] * 3
    assert flood.check("editMessageText", 7) == 3
    clock.now += 1.0
    assert flood.check("sendMessage", 7) == 2
    clock.now += 2.0
    assert flood.check("sendMessage", 7) is None


def test_a_group_gets_twenty_a_minute() -> None:
    clock = Clock()
    flood = FloodControl(clock=clock)
    for _ in range(20):
        assert flood.check("sendMessage", -100123) is None
        clock.now += 0.5
    assert flood.check("sendMessage", -100123) == 50
    clock.now += 50
    assert flood.check("sendMessage", -100123) is None


def test_answers_to_taps_and_reads_are_not_counted() -> None:
    flood = FloodControl(clock=Clock())
    assert all(flood.check("answerCallbackQuery", 7) is None for _ in range(100))
    assert all(flood.check("getUpdates", None) is None for _ in range(100))


async def test_the_fake_answers_429_with_retry_after_when_switched_on() -> None:
    async with FakeBotApi() as fake:
        fake.add_user(5, "Budi")
        fake.flood = FloodControl(private_chat=Window(1, 60.0))
        url = f"{fake.base_url}{fake.token}/sendMessage"
        async with httpx.AsyncClient() as http:
            first = await http.post(url, json={"chat_id": 5, "text": "a"})
            second = await http.post(url, json={"chat_id": 5, "text": "b"})
        assert first.status_code == 200
        assert second.status_code == 429
        assert second.json()["parameters"]["retry_after"] >= 59
        assert [m.text for m in fake.chat_messages(5)] == ["a"]
