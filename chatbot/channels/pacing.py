"""Pacing outgoing messages within a platform's limits, counted in the shared store.

Telegram allows about 30 messages a second overall, 20 a minute in one group and about one
a second in one private chat; exceeding them earns 429s and, repeated, a ban. WhatsApp's
Cloud API allows about 80 messages a second per business number (130429 beyond) and about
one message every 6 seconds to one user, with short bursts borrowed from later (131056).
Every worker counts in the same store, so two workers together stay within them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatbot.conversations.messages import Throttled
from chatbot.db.models import utcnow
from chatbot.services.ratelimit import Limit, RateLimiter
from chatbot.store import Store


@dataclass(frozen=True)
class PaceLimits:
    overall: Limit
    group: Limit
    private: Limit


TELEGRAM_LIMITS = PaceLimits(
    overall=Limit(30, timedelta(seconds=1)),
    group=Limit(20, timedelta(minutes=1)),
    # "About one a second": a short burst of three (a reply and its follow-up) is fine.
    private=Limit(3, timedelta(seconds=3)),
)

WHATSAPP_LIMITS = PaceLimits(
    # Inbound messages count against the number's 80/s too: keep a margin for them.
    overall=Limit(60, timedelta(seconds=1)),
    group=Limit(5, timedelta(seconds=30)),  # no groups on WhatsApp; as a private chat
    # "One message per 6 s" on average, with a short burst (a reply and its follow-ups).
    private=Limit(5, timedelta(seconds=30)),
)


class Pacer:
    def __init__(
        self,
        store: Store,
        channel: str,
        limits: PaceLimits = TELEGRAM_LIMITS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._limiter = RateLimiter(store, prefix=f"pace:{channel}:", clock=clock)
        self._limits = limits

    async def turn(self, chat_id: str, *, group: bool, wait: bool) -> None:
        """Take one sending slot for the chat: wait for it, or raise Throttled."""
        per_chat = self._limits.group if group else self._limits.private
        while True:
            decision = await self._limiter.hit(f"chat:{chat_id}", per_chat)
            if decision.allowed:
                decision = await self._limiter.hit("all", self._limits.overall)
                if decision.allowed:
                    return
            if not wait:
                raise Throttled(decision.retry_after)
            await asyncio.sleep(decision.retry_after)
