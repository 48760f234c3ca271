"""The store port every implementation honours (TTL, atomic get-and-delete, counters, locks)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Protocol


class Store(Protocol):
    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""

    async def set(self, key: str, value: bytes, ttl: timedelta | None = None) -> None:
        """Store the value, replacing any; it vanishes after `ttl` when given."""

    async def set_if_absent(self, key: str, value: bytes, ttl: timedelta) -> bool:
        """Store only if no live value exists; True when this call stored it."""

    async def get_and_delete(self, key: str) -> bytes | None:
        """Atomically take the value: of concurrent callers exactly one gets it."""

    async def delete(self, key: str) -> None:
        """Remove the key if present."""

    async def incr(self, key: str, ttl: timedelta) -> int:
        """Atomically add 1 to an integer counter and return the new value.

        An absent or expired counter starts at 1 and expires `ttl` later; later increments
        do not move that expiry (a fixed window). The count is kept as ASCII digits.
        """

    def lock(self, name: str, timeout: timedelta) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion on `name`; released after `timeout` even if the holder died."""

    def try_lock(self, name: str, timeout: timedelta) -> AbstractAsyncContextManager[bool]:
        """Like `lock` without waiting: yields False (and holds nothing) when it is taken."""

    async def purge_expired(self) -> int:
        """Drop expired entries where the backend does not do it itself."""

    async def close(self) -> None:
        """Release connections."""
