"""Telegram's flood limits for the fake Bot API, switched on by a benchmark or a test.

Telegram documents (core.telegram.org/bots/faq, "My bot is hitting limits"): about one
message a second to one chat (short bursts tolerated), at most 20 messages a minute to one
group, and about 30 messages a second in all; beyond that a call answers 429 with
``retry_after``. Counted here over sliding windows of the calls that put a message in a chat.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

SENDING = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendMediaGroup",
        "sendContact",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)


@dataclass(frozen=True)
class Window:
    """At most `count` calls in any `seconds`."""

    count: int
    seconds: float


@dataclass
class FloodControl:
    """Sliding-window counters per chat, per group and in all; `check` refuses a call over
    any of them with the seconds to wait, and records it otherwise."""

    total: Window = Window(30, 1.0)
    private_chat: Window = Window(3, 3.0)  # ~1/s, a short burst tolerated
    group: Window = Window(20, 60.0)
    clock: Callable[[], float] = time.monotonic
    refused: int = 0
    _all: deque[float] = field(default_factory=deque)
    _chats: dict[int | str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def check(self, method: str, chat_id: object) -> int | None:
        """None when the call may go; else the `retry_after` seconds of a 429."""
        if method not in SENDING:
            return None
        now = self.clock()
        key = chat_id if isinstance(chat_id, int | str) else str(chat_id)
        chat_window = self.group if str(key).startswith("-") else self.private_chat
        waits = [
            _wait(self._all, self.total, now),
            _wait(self._chats[key], chat_window, now),
        ]
        wait = max(waits)
        if wait > 0:
            self.refused += 1
            return max(1, math.ceil(wait))
        self._all.append(now)
        self._chats[key].append(now)
        return None


def _wait(stamps: deque[float], window: Window, now: float) -> float:
    while stamps and stamps[0] <= now - window.seconds:
        stamps.popleft()
    if len(stamps) < window.count:
        return 0.0
    return stamps[0] + window.seconds - now
