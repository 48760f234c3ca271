"""Runs the inbox: each chat's updates in order and one at a time, chats side by side.

Every worker (process) runs one InboxWorker. A chat is taken under a lock in the shared
store, so with several workers one chat is still handled by one of them at a time; inside,
the inbox hands out only a chat's oldest unhandled update. A handler error caused by an
outage (database, store, network) is retried without limit; any other error is retried a
few times and then given up, so one poisoned update cannot block its chat for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import timedelta

from chatbot.conversations.messages import DeliveryError
from chatbot.services.inbox import Inbox, Pending
from chatbot.services.outages import is_outage
from chatbot.services.sealing import WaitForKey
from chatbot.store import Store

log = logging.getLogger(__name__)

# Long enough for the slowest update (a 20 MB upload on a bad line); the lock frees itself
# after this if its worker died.
CHAT_LOCK = timedelta(minutes=10)
# How often to look for work other workers received (or left behind when they died).
SCAN_EVERY = 2.0
OUTAGE_PAUSE = 2.0

Handler = Callable[[Pending], Awaitable[None]]
GiveUp = Callable[[Pending, BaseException], Awaitable[None]]


def transient(error: BaseException) -> bool:
    return (
        is_outage(error)
        or isinstance(error, WaitForKey)
        or (isinstance(error, DeliveryError) and not error.permanent)
    )


class InboxWorker:
    def __init__(
        self,
        inbox: Inbox,
        store: Store,
        handle: Handler,
        *,
        concurrency: int = 8,
        gave_up: GiveUp | None = None,
        channels: Collection[str] | None = None,
    ) -> None:
        self._inbox = inbox
        self._channels = channels  # the channels this process runs (None: all)
        self._store = store
        self._handle = handle
        self._gave_up = gave_up
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._rounds = 0  # scans started
        self._idle_round = 0  # the latest scan that found nothing waiting or in hand
        self._changed = asyncio.Condition()

    def wake(self) -> None:
        """New rows arrived: look now rather than at the next scan."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; the updates in hand are finished, none is started after.

        Each waiting chat gets its own task as soon as a slot is free, so one slow update
        (a large download) holds up its own chat only.
        """
        active: dict[str, asyncio.Task[int]] = {}
        while not stop.is_set():
            self._wake.clear()
            self._rounds += 1
            number = self._rounds
            try:
                chats = await self._inbox.waiting_chats(channels=self._channels)
            except Exception as error:
                if is_outage(error):
                    log.warning("inbox unreachable (%s); retrying", type(error).__name__)
                else:
                    log.exception("reading the inbox failed")
                await _wait_any(stop, None, OUTAGE_PAUSE)
                continue
            for key in chats:
                if key not in active and len(active) < self._concurrency:
                    task = asyncio.create_task(self._chat(key, stop), name=f"chat {key}")
                    active[key] = task
                    task.add_done_callback(functools.partial(self._ended, active, key))
            async with self._changed:
                if not chats and not active:
                    self._idle_round = max(self._idle_round, number)
                self._changed.notify_all()
            await _wait_any(stop, self._wake, SCAN_EVERY)
        await asyncio.gather(*active.values(), return_exceptions=True)

    def _ended(
        self, active: dict[str, asyncio.Task[int]], key: str, task: asyncio.Task[int]
    ) -> None:
        active.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            if is_outage(error):  # type: ignore[arg-type]
                log.warning("inbox unreachable (%s); retrying", type(error).__name__)
            else:
                log.error("handling chat %s failed", key, exc_info=error)
        self._wake.set()  # look again: the chat may have more, or a slot is free

    async def settled(self) -> None:
        """Wait for a scan that began after this call and found nothing to do (tests)."""
        async with self._changed:
            started = self._rounds
            self.wake()
            await self._changed.wait_for(lambda: self._idle_round > started)

    async def _chat(self, chat_key: str, stop: asyncio.Event) -> int:
        handled = 0
        async with self._store.try_lock(f"chat:{chat_key}", CHAT_LOCK) as mine:
            if not mine:
                return 0  # another worker has this chat; it takes the rest in order
            while not stop.is_set():
                row = await self._inbox.next_of(chat_key)
                if row is None:
                    break
                if not await self._one(row):
                    break  # it waits for a retry: so do the chat's later updates
                handled += 1
        return handled

    async def _one(self, row: Pending) -> bool:
        try:
            await self._handle(row)
            return True
        except Exception as error:
            if transient(error):
                log.warning("update %s waits: %s", row.update_id, type(error).__name__)
                with contextlib.suppress(Exception):
                    await self._inbox.retry_later(row.id, type(error).__name__, counts=False)
                return False
            log.exception("handling update %s failed", row.update_id)
            gave_up = await self._inbox.retry_later(row.id, type(error).__name__, counts=True)
            if gave_up and self._gave_up is not None:
                with contextlib.suppress(Exception):
                    await self._gave_up(row, error)
            return gave_up  # given up: the chat's next update may go


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    waiters = [asyncio.create_task(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.create_task(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
