"""The door: a channel's raw updates are sealed and committed to the inbox before the
platform is told they arrived (the poll's offset moves, the webhook answers 200)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from chatbot.metrics import record_update
from chatbot.pipeline.ports import ChannelAdapter, Raw
from chatbot.services.inbox import Arrival, Inbox, UnstorableUpdate
from chatbot.services.sealing import Sealer


def update_context(channel: str, update_id: str) -> str:
    """What a stored update's seal is bound to: it opens only as its own row."""
    return f"{channel}:{update_id}"


class Ingress:
    def __init__(
        self,
        inbox: Inbox,
        sealer: Sealer,
        adapters: Mapping[str, ChannelAdapter],
        wake: Callable[[], None],
    ) -> None:
        self._inbox = inbox
        self._sealer = sealer
        self._adapters = adapters
        self._wake = wake

    async def receive(self, channel: str, updates: Sequence[Raw]) -> int:
        """Commit updates to the inbox; only then may they be acknowledged. Returns how many
        were new (a redelivery is stored once). Raises UnstorableUpdate, storing none, when
        one cannot be stored."""
        adapter = self._adapters[channel]
        for raw in updates:
            problem = adapter.problem(raw)
            if problem is not None:
                raise UnstorableUpdate(problem)
        arrivals = []
        for raw in updates:
            described = adapter.describe(raw)
            adapter.arrived(raw)
            plain = json.dumps(raw, separators=(",", ":")).encode()
            sealed = self._sealer.seal(plain, update_context(channel, described.update_id))
            arrivals.append(
                Arrival(channel, described.update_id, described.chat_key, described.kind, sealed)
            )
        new = await self._inbox.accept(arrivals)
        for _ in range(len(arrivals) - new):
            record_update(channel, "any", "duplicate", None)
        self._wake()
        return new
