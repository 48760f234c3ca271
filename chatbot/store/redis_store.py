"""Redis implementation of the store, for one or several workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# INCR, then give the counter its window's expiry only if it has none (a new counter, or a
# value stored without one); later increments leave the expiry alone. One round trip, atomic.
log = logging.getLogger(__name__)

# A lock's expiry: renewed every third of it while the holder lives.
LOCK_LEASE = timedelta(seconds=15)

# Replace a lock's token only if it still belongs to this owner's previous life.
_TAKE_OVER_OWN_LOCK = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
end
return 0
"""

_INCR_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


async def _renew(lock: Lock, every: float, lease: float) -> None:
    """Renew until cancelled; a Redis hiccup is retried until the lease would really run out."""
    loop = asyncio.get_running_loop()
    renewed = loop.time()
    while True:
        await asyncio.sleep(every)
        try:
            await lock.reacquire()
            renewed = loop.time()
        except LockError:
            log.warning("a lock was lost (its lease ran out or Redis restarted)")
            return
        except (RedisConnectionError, RedisTimeoutError):
            if loop.time() - renewed >= lease:
                log.warning("a lock could not be renewed while Redis was away")
                return


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


class RedisStore:
    def __init__(self, url: str, prefix: str = "chatbot:", owner: str | None = None) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=False)
        self._prefix = prefix
        # Who holds locks taken here: stable across restarts of one worker (WORKER_NAME),
        # so a restarted worker recognises the locks its killed predecessor left.
        self._owner = owner or uuid.uuid4().hex
        self._wanted: dict[str, int] = {}
        self._incr = self._redis.register_script(_INCR_FIXED_WINDOW)
        self._takeover = self._redis.register_script(_TAKE_OVER_OWN_LOCK)

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
        async with self._held_lock(name, timeout, wait=True) as acquired:
            if not acquired:
                raise TimeoutError(f"lock {name} is held elsewhere")
            yield

    @asynccontextmanager
    async def try_lock(self, name: str, timeout: timedelta) -> AsyncIterator[bool]:
        async with self._held_lock(name, timeout, wait=False) as acquired:
            yield acquired

    @asynccontextmanager
    async def _held_lock(self, name: str, timeout: timedelta, *, wait: bool) -> AsyncIterator[bool]:
        """A lock kept alive while its holder lives: its expiry is a short lease renewed in
        the background, so a killed holder's lock frees itself within one lease; and a
        worker restarted under the same owner name takes back its own locks at once."""
        key = self._k("lock:" + name)
        lease = min(timeout, LOCK_LEASE).total_seconds()
        token = f"{self._owner}:{uuid.uuid4().hex}"
        lock = self._redis.lock(key, timeout=lease, blocking_timeout=timeout.total_seconds())
        # Another task of this process wanting or holding it makes it no predecessor's to take.
        self._wanted[name] = self._wanted.get(name, 0) + 1
        try:
            async with self._hold(name, key, lease, token, lock, wait=wait) as acquired:
                yield acquired
        finally:
            self._wanted[name] -= 1
            if not self._wanted[name]:
                del self._wanted[name]

    @asynccontextmanager
    async def _hold(
        self, name: str, key: str, lease: float, token: str, lock: Lock, *, wait: bool
    ) -> AsyncIterator[bool]:
        acquired = bool(await lock.acquire(blocking=False, token=token))
        if not acquired and self._wanted[name] == 1:
            # Held by our previous life, killed? Take it over, atomically.
            acquired = bool(
                await self._takeover(keys=[key], args=[f"{self._owner}:", token, int(lease * 1000)])
            )
            if acquired:
                lock.local.token = token.encode()
        if not acquired and wait:
            acquired = bool(await lock.acquire(blocking=True, token=token))
        if not acquired:
            yield False
            return
        renew = asyncio.create_task(_renew(lock, lease / 3, lease))
        try:
            yield True
        finally:
            renew.cancel()
            await asyncio.gather(renew, return_exceptions=True)
            with contextlib.suppress(LockError):  # expired meanwhile: nothing to release
                await lock.release()

    async def purge_expired(self) -> int:
        return 0  # Redis expires keys itself

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def persistence(self) -> bool | None:
        """Whether the server keeps its data across a restart (an append-only file or RDB
        snapshots); without, a restart loses every one-time link not yet opened. None when
        the server does not say (CONFIG disabled or renamed, as managed services do)."""
        try:
            save = await self._redis.config_get("save")
            appendonly = await self._redis.config_get("appendonly")
        except ResponseError:
            return None
        settings = {_text(k): _text(v) for k, v in {**save, **appendonly}.items()}
        if "save" not in settings and "appendonly" not in settings:
            return None
        return settings.get("appendonly", "no").lower() == "yes" or bool(
            settings.get("save", "").strip()
        )

    async def close(self) -> None:
        await self._redis.aclose()
