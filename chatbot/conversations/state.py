"""Dialog state per chat, kept in the store (never in process memory) so restarts lose nothing."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from chatbot.store import Store

# A chat that goes quiet keeps its half-filled request this long.
DIALOG_TTL = timedelta(days=30)
# A result hand-over holds the SPSE user id until the password comes: keep that short.
FLOW_TTL = {"admin_result": timedelta(hours=2)}
# An idle chat keeps only the replay marker, long enough for a crashed worker's successor.
REPLAY_TTL = timedelta(hours=1)


@dataclass
class DialogState:
    flow: str = "idle"  # idle | intake | supplement | admin_result
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # The update this state already includes, and what was answered to it: a worker that
    # dies after saving the state but before recording the update handled must not apply
    # it twice; its successor answers the same again.
    applied: str = ""
    answered: list[dict[str, Any]] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return self.flow == "idle"


class DialogStates:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def _key(channel: str, chat_id: str) -> str:
        return f"dialog:{channel}:{chat_id}"

    async def load(self, channel: str, chat_id: str) -> DialogState:
        raw = await self._store.get(self._key(channel, chat_id))
        if raw is None:
            return DialogState()
        return DialogState(**json.loads(raw))

    async def save(self, channel: str, chat_id: str, state: DialogState) -> None:
        if state.idle and not state.applied:
            await self._store.delete(self._key(channel, chat_id))
        elif state.idle:
            marker = DialogState(applied=state.applied, answered=state.answered)
            await self._store.set(
                self._key(channel, chat_id), json.dumps(asdict(marker)).encode(), ttl=REPLAY_TTL
            )
        else:
            await self._store.set(
                self._key(channel, chat_id),
                json.dumps(asdict(state)).encode(),
                ttl=FLOW_TTL.get(state.flow, DIALOG_TTL),
            )
