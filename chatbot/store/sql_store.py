"""Embedded store in the database (`kv_entries`), used when REDIS_URL is empty.

It keeps the same contract as Redis and, unlike a dict, survives a restart. Locks are
in-process, which is right for the single worker this mode is for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from weakref import WeakValueDictionary

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    LargeBinary,
    Text,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.engine import insert_for
from chatbot.db.models import KeyValueEntry, utcnow


class SqlStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    @staticmethod
    def _live() -> ColumnElement[bool]:
        return or_(KeyValueEntry.expires_at.is_(None), KeyValueEntry.expires_at > utcnow())

    async def get(self, key: str) -> bytes | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(KeyValueEntry.value).where(KeyValueEntry.key == key, self._live())
            )
            return result.scalar_one_or_none()

    async def set(self, key: str, value: bytes, ttl: timedelta | None = None) -> None:
        expires = utcnow() + ttl if ttl else None
        async with self._sessions.begin() as session:
            insert = insert_for(session, KeyValueEntry).values(
                key=key, value=value, expires_at=expires
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[KeyValueEntry.key],
                    set_={"value": value, "expires_at": expires},
                )
            )

    async def set_if_absent(self, key: str, value: bytes, ttl: timedelta) -> bool:
        now = utcnow()
        async with self._sessions.begin() as session:
            insert = insert_for(session, KeyValueEntry).values(
                key=key, value=value, expires_at=now + ttl
            )
            result = await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[KeyValueEntry.key],
                    set_={"value": value, "expires_at": now + ttl},
                    where=KeyValueEntry.expires_at <= now,
                ).returning(KeyValueEntry.key)
            )
            return result.first() is not None

    async def get_and_delete(self, key: str) -> bytes | None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(KeyValueEntry)
                .where(KeyValueEntry.key == key, self._live())
                .returning(KeyValueEntry.value)
            )
            return result.scalar_one_or_none()

    async def delete(self, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(KeyValueEntry).where(KeyValueEntry.key == key))

    @staticmethod
    def _plus_one(dialect: str) -> ColumnElement[bytes]:
        """The stored ASCII count plus one, as ASCII again, in the dialect's own terms."""
        if dialect == "postgresql":
            count = cast(func.convert_from(KeyValueEntry.value, "UTF8"), BigInteger) + 1
            return func.convert_to(cast(count, Text), "UTF8", type_=LargeBinary)
        # SQLite reads a BLOB as text when casting it to a number, and back.
        return cast(cast(KeyValueEntry.value, Integer) + 1, LargeBinary)

    async def incr(self, key: str, ttl: timedelta) -> int:
        now = utcnow()
        one = literal(b"1", LargeBinary)
        new_expiry = literal(now + ttl, KeyValueEntry.expires_at.type)
        expired = KeyValueEntry.expires_at <= now
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = insert_for(session, KeyValueEntry).values(
                key=key, value=b"1", expires_at=now + ttl
            )
            # One statement: a new key starts at 1; a live one counts on and keeps its
            # expiry; an expired one starts again at 1 with a fresh window. A value stored
            # without expiry counts on and gets the window's expiry, as on Redis.
            result = await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[KeyValueEntry.key],
                    set_={
                        "value": case((expired, one), else_=self._plus_one(dialect)),
                        "expires_at": case(
                            (or_(KeyValueEntry.expires_at.is_(None), expired), new_expiry),
                            else_=KeyValueEntry.expires_at,
                        ),
                    },
                ).returning(KeyValueEntry.value)
            )
            return int(result.scalar_one())

    @asynccontextmanager
    async def lock(self, name: str, timeout: timedelta) -> AsyncIterator[None]:
        lock = self._locks.get(name)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[name] = lock
        async with asyncio.timeout(timeout.total_seconds()):
            await lock.acquire()
        try:
            yield
        finally:
            lock.release()

    @asynccontextmanager
    async def try_lock(self, name: str, timeout: timedelta) -> AsyncIterator[bool]:
        """In-process only, like `lock`: the embedded store serves one worker."""
        lock = self._locks.get(name)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[name] = lock
        if lock.locked():
            yield False
            return
        await lock.acquire()
        try:
            yield True
        finally:
            lock.release()

    async def purge_expired(self) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(KeyValueEntry).where(KeyValueEntry.expires_at <= utcnow())
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def close(self) -> None:
        return None
