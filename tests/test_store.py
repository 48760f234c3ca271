"""The store contract, on the embedded SQL store and (in CI) on Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import KeyValueEntry, utcnow
from chatbot.store import Store
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
