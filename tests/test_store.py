"""The store contract, on the embedded SQL store and (in CI) on Redis."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import KeyValueEntry, utcnow
from chatbot.store import Store
from chatbot.store.redis_store import RedisStore
from chatbot.store.sql_store import SqlStore


async def test_values_round_trip_and_replace(store: Store) -> None:
    assert await store.get("k") is None
    await store.set("k", b"one")
    await store.set("k", b"two", ttl=timedelta(minutes=5))
    assert await store.get("k") == b"two"
    await store.delete("k")
    assert await store.get("k") is None


async def test_set_if_absent_stores_once(store: Store) -> None:
    assert await store.set_if_absent("once", b"1", timedelta(minutes=1)) is True
    assert await store.set_if_absent("once", b"2", timedelta(minutes=1)) is False
    assert await store.get("once") == b"1"


async def test_of_fifty_concurrent_takers_exactly_one_gets_the_value(store: Store) -> None:
    await store.set("secret", b"ciphertext", ttl=timedelta(minutes=5))
    taken = await asyncio.gather(*(store.get_and_delete("secret") for _ in range(50)))
    assert [t for t in taken if t is not None] == [b"ciphertext"]
    assert await store.get("secret") is None


@pytest.fixture(params=["shared", "embedded"] if os.environ.get("TEST_REDIS_URL") else ["shared"])
def counters(
    request: pytest.FixtureRequest, store: Store, sessions: async_sessionmaker[AsyncSession]
) -> Store:
    """The run's store, and with Redis also the embedded one, so that both counters are
    proved on the run's database (SQLite, or PostgreSQL in CI)."""
    return SqlStore(sessions) if request.param == "embedded" else store


async def _time_left(store: Store, key: str) -> timedelta | None:
    """How long the backend will keep `key` (None: no expiry), read behind the port."""
    if isinstance(store, RedisStore):
        milliseconds = await store._redis.pttl(store._k(key))
        assert milliseconds != -2, "key is absent"
        return None if milliseconds == -1 else timedelta(milliseconds=milliseconds)
    assert isinstance(store, SqlStore)
    async with store._sessions() as session:
        expires = (
            await session.execute(select(KeyValueEntry.expires_at).where(KeyValueEntry.key == key))
        ).scalar_one()
    return None if expires is None else expires - utcnow()


async def _let_expire(store: Store, key: str) -> None:
    """Make `key`'s expiry lie in the past, as if its time had run out."""
    if isinstance(store, RedisStore):
        await store._redis.pexpireat(store._k(key), 1)  # 1 ms after the epoch
        return
    assert isinstance(store, SqlStore)
    async with store._sessions.begin() as session:  # the row stays, only stale
        result = await session.execute(
            update(KeyValueEntry)
            .where(KeyValueEntry.key == key)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]


async def test_incr_counts_up_from_one(counters: Store) -> None:
    ttl = timedelta(minutes=1)
    assert [await counters.incr("hits", ttl) for _ in range(3)] == [1, 2, 3]
    assert await counters.get("hits") == b"3"  # ASCII digits, on every backend
    assert await counters.incr("other", ttl) == 1


async def test_of_fifty_concurrent_increments_each_gets_its_own_count(counters: Store) -> None:
    counts = await asyncio.gather(*(counters.incr("busy", timedelta(minutes=1)) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))
    assert await counters.get("busy") == b"50"


async def test_incr_keeps_the_first_expiry(counters: Store) -> None:
    await counters.incr("window", timedelta(minutes=1))
    await counters.incr("window", timedelta(hours=1))  # a later, longer ttl moves nothing
    left = await _time_left(counters, "window")
    assert left is not None
    assert timedelta(seconds=50) < left <= timedelta(minutes=1)


async def test_an_expired_counter_starts_again_at_one_with_a_fresh_window(counters: Store) -> None:
    ttl = timedelta(minutes=1)
    for _ in range(3):
        await counters.incr("again", ttl)
    await _let_expire(counters, "again")
    assert await counters.incr("again", ttl) == 1
    left = await _time_left(counters, "again")
    assert left is not None
    assert timedelta(seconds=50) < left <= ttl
    assert await counters.incr("again", ttl) == 2  # the new window is live, not expired


async def test_incr_counts_on_from_a_stored_number(counters: Store) -> None:
    await counters.set("n", b"41")  # no expiry: the counter takes the window's
    assert await counters.incr("n", timedelta(minutes=1)) == 42
    left = await _time_left(counters, "n")
    assert left is not None
    assert left <= timedelta(minutes=1)


async def test_a_lock_admits_one_holder_at_a_time(store: Store) -> None:
    inside = 0
    most = 0

    async def hold() -> None:
        nonlocal inside, most
        async with store.lock("chat:1", timedelta(seconds=10)):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(10)))
    assert most == 1


async def test_a_try_lock_refuses_while_held_and_admits_after(store: Store) -> None:
    async with store.try_lock("chat:2", timedelta(seconds=10)) as first:
        async with store.try_lock("chat:2", timedelta(seconds=10)) as second:
            assert (first, second) == (True, False)
        async with store.try_lock("chat:3", timedelta(seconds=10)) as other:
            assert other is True  # locks are per name
    async with store.try_lock("chat:2", timedelta(seconds=10)) as again:
        assert again is True


async def test_expired_entries_are_gone_from_the_embedded_store(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SqlStore(sessions)
    await store.set("short", b"x", ttl=timedelta(minutes=1))
    async with sessions.begin() as session:  # the minute has passed
        await session.execute(
            update(KeyValueEntry).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await store.get("short") is None
    assert await store.get_and_delete("short") is None
    assert await store.set_if_absent("short", b"y", timedelta(minutes=1)) is True
    await store.set("old", b"z", ttl=timedelta(minutes=1))
    async with sessions.begin() as session:
        await session.execute(
            update(KeyValueEntry)
            .where(KeyValueEntry.key == "old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await store.purge_expired() == 1


async def test_the_embedded_store_survives_a_new_process(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await SqlStore(sessions).set("dialog:telegram:1", b'{"flow":"intake"}')
    assert await SqlStore(sessions).get("dialog:telegram:1") == b'{"flow":"intake"}'


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs Redis (CI sets it)")
async def test_a_restarted_worker_takes_back_the_lock_its_killed_predecessor_held(
    redis_prefix: str,
) -> None:
    url = os.environ["TEST_REDIS_URL"]
    killed = RedisStore(url, prefix=redis_prefix, owner="host:8081")
    restarted = RedisStore(url, prefix=redis_prefix, owner="host:8081")
    other = RedisStore(url, prefix=redis_prefix, owner="host:8082")
    held = killed.try_lock("chat:9", timedelta(minutes=10))
    try:
        assert await held.__aenter__() is True  # and never released: the holder "died"
        async with other.try_lock("chat:9", timedelta(minutes=10)) as theirs:
            assert theirs is False  # another worker must wait for the lease to run out
        async with restarted.try_lock("chat:9", timedelta(minutes=10)) as ours:
            assert ours is True  # the same worker, restarted, goes on at once
    finally:
        await held.__aexit__(None, None, None)
        for store in (killed, restarted, other):
            await store.close()
