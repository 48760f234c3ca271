"""The shared fixed-window rate limiter, on whichever store the run uses; a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from chatbot.services.ratelimit import Decision, Limit, RateLimiter
from chatbot.store import Store

PER_MINUTE = Limit(count=3, window=timedelta(minutes=1))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    # 10.25 s into a minute (epoch-aligned windows of one minute start on the minute)
    return Clock(datetime(2025, 3, 4, 12, 30, 10, 250_000, tzinfo=UTC))


@pytest.fixture
def limiter(store: Store, clock: Clock) -> RateLimiter:
    return RateLimiter(store, clock=clock)


async def test_allows_the_limit_then_refuses_until_the_window_ends(
    limiter: RateLimiter, clock: Clock
) -> None:
    for _ in range(3):
        assert await limiter.hit("login:203.0.113.7", PER_MINUTE) == Decision(True, 0)
    assert await limiter.hit("login:203.0.113.7", PER_MINUTE) == Decision(False, 50)  # 49.75
    clock.now = clock.now.replace(second=59, microsecond=500_000)
    assert await limiter.hit("login:203.0.113.7", PER_MINUTE) == Decision(False, 1)  # 0.5 s
    clock.now = clock.now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert await limiter.hit("login:203.0.113.7", PER_MINUTE) == Decision(True, 0)


async def test_retry_after_counts_to_the_end_of_a_longer_window(store: Store, clock: Clock) -> None:
    hourly = Limit(count=1, window=timedelta(hours=1))
    limiter = RateLimiter(store, clock=clock)
    assert (await limiter.hit("otp:42", hourly)).allowed
    # 12:30:10.25 -> the hour ends at 13:00:00: 29 min 49.75 s -> 1790 s
    assert await limiter.hit("otp:42", hourly) == Decision(False, 1790)


async def test_buckets_are_independent(limiter: RateLimiter) -> None:
    for _ in range(3):
        assert (await limiter.hit("ip:198.51.100.1", PER_MINUTE)).allowed
    assert not (await limiter.hit("ip:198.51.100.1", PER_MINUTE)).allowed
    assert (await limiter.hit("ip:198.51.100.2", PER_MINUTE)).allowed


async def test_two_limits_on_one_bucket_count_apart(limiter: RateLimiter, clock: Clock) -> None:
    per_hour = Limit(count=5, window=timedelta(hours=1))
    clock.now = datetime(1970, 1, 1, 0, 0, 30, tzinfo=UTC)  # both windows have index 0
    for _ in range(3):
        assert (await limiter.hit("chat:9", PER_MINUTE)).allowed
    assert not (await limiter.hit("chat:9", PER_MINUTE)).allowed
    assert [(await limiter.hit("chat:9", per_hour)).allowed for _ in range(6)] == [
        True,
        True,
        True,
        True,
        True,
        False,
    ]


async def test_the_next_window_allows_again(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(3):
        await limiter.hit("chat:7", PER_MINUTE)
    assert not (await limiter.hit("chat:7", PER_MINUTE)).allowed
    clock.now += timedelta(minutes=1)
    assert [(await limiter.hit("chat:7", PER_MINUTE)).allowed for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]


async def test_of_thirty_concurrent_hits_exactly_the_limit_pass(limiter: RateLimiter) -> None:
    limit = Limit(count=10, window=timedelta(minutes=1))
    decisions = await asyncio.gather(*(limiter.hit("burst", limit) for _ in range(30)))
    assert sum(d.allowed for d in decisions) == 10
    assert all(d.retry_after == 50 for d in decisions if not d.allowed)


async def test_workers_share_the_count_through_the_store(store: Store, clock: Clock) -> None:
    one, other = RateLimiter(store, clock=clock), RateLimiter(store, clock=clock)
    assert (await one.hit("shared", PER_MINUTE)).allowed
    assert (await other.hit("shared", PER_MINUTE)).allowed
    assert (await one.hit("shared", PER_MINUTE)).allowed
    assert not (await other.hit("shared", PER_MINUTE)).allowed


async def test_bucket_names_are_hashed_into_short_keys(store: Store, clock: Clock) -> None:
    keys: list[str] = []

    class Recording:
        async def incr(self, key: str, ttl: timedelta) -> int:
            keys.append(key)
            assert ttl == PER_MINUTE.window
            return await store.incr(key, ttl)

    limiter = RateLimiter(Recording(), clock=clock)  # type: ignore[arg-type]
    await limiter.hit("login:2001:db8::1", PER_MINUTE)
    await limiter.hit("login:203.0.113.7", PER_MINUTE)
    first, second = keys
    assert first.startswith("rl:") and second.startswith("rl:")
    assert first != second
    assert "2001:db8" not in first and "203.0.113" not in second
    assert len(first) <= 64


def test_a_limit_must_allow_something_in_a_positive_window() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Limit(count=0, window=timedelta(minutes=1))
    with pytest.raises(ValueError, match="positive"):
        Limit(count=1, window=timedelta(0))
