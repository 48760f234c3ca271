"""Pacing outgoing messages within a platform's limits, counted in the shared store.

Telegram allows about 30 messages a second overall, 20 a minute in one group and about one
a second in one private chat; exceeding them earns 429s and, repeated, a ban. WhatsApp's
Cloud API allows about 80 messages a second per business number (130429 beyond) and about
one message every 6 seconds to one user, with short bursts borrowed from later (131056).
Every worker counts in the same store, so two workers together stay within them; on
WhatsApp the messages received count in the same budget (`count_inbound`).
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
    # The number's 80/s counts inbound and outbound together: inbound messages are counted
    # here too (Pacer.count_inbound, at the webhook), and read receipts take a slot, so
    # everything together stays at 60/s, a margin below Meta's limit.
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

    async def spare(self) -> bool:
        """Take one slot of the overall budget if one is free now, never waiting: for what
        is only nice to have (a read receipt), skipped rather than delayed when busy."""
        decision = await self._limiter.hit("all", self._limits.overall)
        return decision.allowed

    async def count_inbound(self, messages: int) -> None:
        """Messages the platform delivered to us, counted against the same overall budget
        (WhatsApp: inbound and outbound together share a number's 80/s): recorded only,
        never refused or waited for."""
        for _ in range(messages):
            await self._limiter.hit("all", self._limits.overall)
