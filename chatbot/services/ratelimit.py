"""Fixed-window rate limits kept in the shared store, so every worker counts together.

Each window is aligned to the Unix epoch: the counter key names the window's index
(floor(now / window)), so a refused caller is told exactly when that window ends. Bucket
names (which may hold client IPs or chat ids) are hashed into the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chatbot.db.models import utcnow
from chatbot.store import Store

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `window`."""

    count: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a limit allows at least one hit")
        if self.window <= timedelta(0):
            raise ValueError("a limit's window must be positive")


@dataclass(frozen=True)
class Decision:
    """`retry_after`: whole seconds until the window ends when refused (>= 1), else 0."""

    allowed: bool
    retry_after: int


class RateLimiter:
    def __init__(
        self, store: Store, prefix: str = "rl:", clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._clock = clock

    def _key(self, bucket: str, window: timedelta, index: int) -> str:
        digest = hashlib.sha256(bucket.encode()).hexdigest()[:32]
        # The window length is part of the key, so two limits on one bucket never share
        # a counter.
        return f"{self._prefix}{digest}:{window // _MICROSECOND}:{index}"

    async def hit(self, bucket: str, limit: Limit) -> Decision:
        """Count one hit on `bucket`; allowed while the window's count stays within it."""
        now = self._clock()
        index = (now - _EPOCH) // limit.window
        count = await self._store.incr(self._key(bucket, limit.window, index), limit.window)
        if count <= limit.count:
            return Decision(allowed=True, retry_after=0)
        window_end = _EPOCH + (index + 1) * limit.window
        seconds = -((now - window_end) // _SECOND)  # ceil of the time left
        return Decision(allowed=False, retry_after=max(1, seconds))
