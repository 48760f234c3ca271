"""Redis implementation of the store, for one or several workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from redis.asyncio import Redis

# INCR, then give the counter its window's expiry only if it has none (a new counter, or a
# value stored without one); later increments leave the expiry alone. One round trip, atomic.
_INCR_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


def _as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


class RedisStore:
    def __init__(self, url: str, prefix: str = "chatbot:") -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=False)
        self._prefix = prefix
        self._incr = self._redis.register_script(_INCR_FIXED_WINDOW)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._k(key))
        return _as_bytes(value)

    async def set(self, key: str, value: bytes, ttl: timedelta | None = None) -> None:
        await self._redis.set(self._k(key), value, px=ttl)

    async def set_if_absent(self, key: str, value: bytes, ttl: timedelta) -> bool:
        return bool(await self._redis.set(self._k(key), value, px=ttl, nx=True))

    async def get_and_delete(self, key: str) -> bytes | None:
        value = await self._redis.getdel(self._k(key))
        return _as_bytes(value)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._k(key))

    async def incr(self, key: str, ttl: timedelta) -> int:
        milliseconds = max(1, ttl // timedelta(milliseconds=1))
        return int(await self._incr(keys=[self._k(key)], args=[milliseconds]))

    @asynccontextmanager
    async def lock(self, name: str, timeout: timedelta) -> AsyncIterator[None]:
        seconds = timeout.total_seconds()
        async with self._redis.lock(
            self._k("lock:" + name), timeout=seconds, blocking_timeout=seconds
        ):
            yield

    async def purge_expired(self) -> int:
        return 0  # Redis expires keys itself

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
