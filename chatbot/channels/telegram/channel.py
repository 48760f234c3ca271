"""Telegram in and out: updates into the inbox before they are acknowledged, handled from it.

python-telegram-bot serves as the Bot API client only. Its own ingress (Updater and
Application) confirms an update before handling it and queues it in memory, so a crash
would lose it; here the long-polling offset moves, and the webhook answers 200, only once
the update is committed to the inbox. Handling commits the replies with the mark that the
update was handled, and the outbox sender delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, BotCommandScopeChat, CallbackQuery, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Conflict, InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from chatbot.app import App
from chatbot.channels.pacing import TELEGRAM_LIMITS, PaceLimits, Pacer
from chatbot.channels.telegram.mapping import (
    ALLOWED_UPDATES,
    CHANNEL,
    chat_of_lane,
    describe,
    for_another_bot,
    to_incoming,
    update_problem,
)
from chatbot.channels.telegram.messenger import AdminChat, AdminDirectory, TelegramMessenger
from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.messages import Reply, Response, reply_to_dict
from chatbot.conversations.outbox_sender import OutboxSender, reply_context
from chatbot.conversations.router import Router
from chatbot.db.models import utcnow
from chatbot.logs import bind_ticket, log_context
from chatbot.metrics import record_update
from chatbot.services.chats import ChatMigrations
from chatbot.services.inbox import Arrival, Inbox, Pending, UnstorableUpdate
from chatbot.services.sealing import Sealer
from chatbot.worker import InboxWorker

log = logging.getLogger(__name__)

TICKET_NUMBER = re.compile(r"\b(\d{4}-\d{4,})\b")
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates open
# A tap must be answered within seconds or the user's app shows an error; if handling is
# slower than this (a slow database), it is answered empty and the result shows in chat.
CALLBACK_DEADLINE = 0.5
CALLBACK_CLAIM = timedelta(hours=1)
COMMANDS = [
    ("start", "Menu utama"),
    ("ajukan", "Ajukan permohonan"),
    ("status", "Status tiket"),
    ("batal", "Batalkan pengisian"),
    ("bantuan", "Bantuan"),
]
# The admins' commands, shown in the admin group's command menu only.
ADMIN_COMMANDS = [
    ("antrian", "Tiket terbuka, langkah, pemegang, sisa waktu"),
    ("laporan", "Laporan bulanan (YYYY-MM; kosong: bulan lalu)"),
    ("arsip", "Arsip tiket (ZIP): /arsip NOMOR"),
    ("cari", "Cari tiket: nomor, NIP, atau nama"),
    ("idgrup", "ID grup ini"),
    ("bantuan", "Perintah admin"),
]


@dataclass
class Outcome:
    """What handling one update came to: replies per chat and a tap's answer."""

    name: str = "handled"  # handled | ignored
    replies: list[tuple[str, Reply]] = field(default_factory=list)
    query: CallbackQuery | None = None
    response: Response | None = None


def make_bot(app: App) -> Bot:
    settings = app.settings
    assert settings.telegram_bot_token is not None
    timeout = settings.telegram_timeout.total_seconds()
    request = HTTPXRequest(
        connection_pool_size=32,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        pool_timeout=timeout,
        media_write_timeout=max(timeout, 60.0),
    )
    polling = HTTPXRequest(
        connection_pool_size=2, connect_timeout=timeout, read_timeout=POLL_TIMEOUT + timeout
    )
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=request,
        get_updates_request=polling,
    )


class TelegramChannel:
    def __init__(
        self,
        app: App,
        *,
        limits: PaceLimits = TELEGRAM_LIMITS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        settings = app.settings
        assert settings.telegram_bot_token is not None
        assert settings.telegram_admin_chat_id is not None
        self.app = app
        self.bot = make_bot(app)
        self.sealer = Sealer.from_secret(settings.telegram_bot_token.get_secret_value(), "inbox")
        self.inbox = Inbox(app.sessions)
        self.admin = AdminChat(settings.telegram_admin_chat_id, ChatMigrations(app.sessions))
        # The supervisor's chat (escalations) may be a group: the bot stays in it, silent.
        self._supervisor = (
            str(settings.supervisor_chat_id) if settings.supervisor_chat_id is not None else None
        )
        self.messenger = TelegramMessenger(
            self.bot, self.admin, Pacer(app.store, CHANNEL, limits, clock)
        )
        self.admins = AdminDirectory(
            self.bot, self.admin, settings.telegram_admin_user_ids, app.store
        )
        self.router = Router(Context(app.services, self.messenger))
        self.sender = OutboxSender(
            app.services, app.outbox, self.messenger.deferring(), self.sealer
        )
        self.worker = InboxWorker(
            self.inbox,
            app.store,
            self.handle,
            concurrency=settings.worker_concurrency,
            gave_up=self._gave_up,
        )
        self._timers: set[asyncio.Task[None]] = set()

    # ---- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.bot.initialize()
        await self.admin.load()
        await self.bot.set_my_commands(COMMANDS)
        try:
            await self.bot.set_my_commands(
                ADMIN_COMMANDS, scope=BotCommandScopeChat(int(self.admin.id))
            )
        except TelegramError as error:  # e.g. the bot is not in the group yet: not fatal
            log.warning("could not list the admin commands in the group: %s", error)

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        await self.sender.idle()
        await self.bot.shutdown()

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
            max_connections=40,
        )

    # ---- ingress -----------------------------------------------------------------------------

    async def receive(self, updates: Sequence[dict[str, Any]]) -> int:
        """Commit updates to the inbox; only then may they be acknowledged. Returns how many
        were new (a redelivery is stored once). Raises UnstorableUpdate, storing none, when
        one cannot be stored (see `update_problem`)."""
        for data in updates:
            problem = update_problem(data)
            if problem is not None:
                raise UnstorableUpdate(problem)
        arrivals = []
        for data in updates:
            update_id = str(data["update_id"])
            chat_key, kind = describe(data)
            self._answer_soon(data)
            plain = json.dumps(data, separators=(",", ":")).encode()
            sealed = self.sealer.seal(plain, f"{CHANNEL}:{update_id}")
            arrivals.append(Arrival(CHANNEL, update_id, chat_key, kind, sealed))
        new = await self.inbox.accept(arrivals)
        for _ in range(len(arrivals) - new):
            record_update(CHANNEL, "any", "duplicate", None)
        self.worker.wake()
        return new

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling: the offset moves past an update only after it is in the inbox."""
        offset: int | None = None
        pause = 1.0
        webhook_cleared = False
        while not stop.is_set():
            try:
                if not webhook_cleared:  # getUpdates is refused while a webhook is set
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_cleared = True
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=list(ALLOWED_UPDATES)
                )
                if updates:
                    await self.receive(_storable([u.to_dict() for u in updates]))
                    offset = updates[-1].update_id + 1
                pause = 1.0
            except InvalidToken:
                raise
            except Conflict as error:
                log.error("another process polls this bot, or a webhook is set: %s", error)
                await _pause(stop, 10.0)
            except Exception as error:  # network, Telegram, database: keep the offset, retry
                log.warning("polling: %s; retrying in %.0f s", type(error).__name__, pause)
                await _pause(stop, pause)
                pause = min(pause * 2, 30.0)

    def _answer_soon(self, data: dict[str, Any]) -> None:
        query = data.get("callback_query")
        if not isinstance(query, dict) or "id" not in query:
            return
        timer = asyncio.create_task(self._answer_late(str(query["id"])))
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _answer_late(self, query_id: str) -> None:
        """If handling has not answered the tap in time, answer it empty (the result still
        shows in the chat)."""
        await asyncio.sleep(CALLBACK_DEADLINE)
        with contextlib.suppress(Exception):
            if await self._claim_answer(query_id):
                await self.bot.answer_callback_query(query_id)

    async def _claim_answer(self, query_id: str) -> bool:
        return await self.app.store.set_if_absent(f"cbq:{query_id}", b"1", CALLBACK_CLAIM)

    # ---- handling ----------------------------------------------------------------------------

    async def handle(self, row: Pending) -> None:
        """Handle one inbox row; raises to have it retried (see InboxWorker)."""
        started = time.monotonic()
        with log_context(channel=CHANNEL, update_id=row.update_id):
            if row.payload is None:  # nothing left to handle: close it, never loop on it
                async with self.app.sessions.begin() as session:
                    await Inbox.finish(session, row.id, "ignored")
                return
            plain = self.sealer.open(row.payload, f"{CHANNEL}:{row.update_id}")
            update = Update.de_json(json.loads(plain), self.bot)
            outcome = await self._process(update)
            async with self.app.sessions.begin() as session:
                if not await Inbox.finish(session, row.id, outcome.name):
                    return  # another worker finished it first: its replies stand
                for chat_id, reply in outcome.replies:
                    sealed = self.sealer.seal(
                        json.dumps(reply_to_dict(reply)).encode(), reply_context(chat_id)
                    )
                    self.app.outbox.add_reply(session, CHANNEL, chat_id, sealed)
            if outcome.query is not None:
                await self._answer(outcome.query, outcome.response)
            record_update(CHANNEL, row.kind, outcome.name, time.monotonic() - started)
        self.sender.kick()

    async def _answer(self, query: CallbackQuery, response: Response | None) -> None:
        if not await self._claim_answer(query.id):
            if response and response.toast:
                log.info("a tap was answered before its result was ready; toast dropped")
            return
        toast = response.toast if response else None
        if toast and len(toast) > 200:  # Telegram's limit for callback answers
            toast = toast[:199] + "…"
        try:
            await query.answer(text=toast, show_alert=bool(response and response.alert))
        except BadRequest:
            log.info("callback query too old to answer")
        except TelegramError as error:
            log.warning("answering a tap failed: %s", type(error).__name__)

    async def _process(self, update: Update) -> Outcome:
        chat = update.effective_chat
        message = update.message
        if message is not None and message.migrate_to_chat_id is not None and chat is not None:
            return await self._migrated(str(chat.id), str(message.migrate_to_chat_id))
        if message is not None and message.migrate_from_chat_id is not None and chat is not None:
            # The same move seen from the new supergroup (it may come first: another chat).
            return await self._migrated(str(message.migrate_from_chat_id), str(chat.id))
        if update.my_chat_member is not None:
            return await self._membership(update)
        supervisors = chat is not None and str(chat.id) == self._supervisor
        if supervisors and chat is not None and chat.type != ChatType.PRIVATE:
            return Outcome("ignored", query=update.callback_query)  # the group only receives
        if chat is not None and chat.type != ChatType.PRIVATE and not self.admin.owns(str(chat.id)):
            await self._leave(str(chat.id))
            return Outcome("ignored", query=update.callback_query)
        user = update.effective_user
        needs_admin = (chat is not None and chat.type != ChatType.PRIVATE) or (
            update.callback_query is not None
            and (update.callback_query.data or "").startswith("a|")
        )
        is_admin = bool(user and needs_admin and await self.admins.is_admin(user.id))
        incoming = to_incoming(update, self.bot.id, is_admin)
        if incoming is None:
            return Outcome("ignored", query=update.callback_query)
        if (
            incoming.in_group
            and incoming.button is None
            and not incoming.replied_to_bot
            and incoming.command is None
        ):
            return Outcome("ignored")  # ordinary group talk is none of our business
        if incoming.in_group and for_another_bot(incoming.text, self.bot.username):
            return Outcome("ignored")
        response = await self.router.handle(incoming)
        number = _ticket_number(response)
        if number:
            bind_ticket(number)
        return Outcome(
            replies=[(incoming.chat_id, r) for r in response.replies],
            query=update.callback_query,
            response=response,
        )

    async def _migrated(self, old: str, new: str) -> Outcome:
        if not self.admin.owns(old):
            return Outcome("ignored")
        first = await self.admin.follow(old, new)
        return Outcome(replies=[(new, Reply(t.group_migrated(new)))] if first else [])

    async def _membership(self, update: Update) -> Outcome:
        member = update.my_chat_member
        assert member is not None
        chat_id = str(member.chat.id)
        joined = member.new_chat_member.status in (
            ChatMemberStatus.MEMBER,
            ChatMemberStatus.ADMINISTRATOR,
        )
        other = not self.admin.owns(chat_id) and chat_id != self._supervisor
        if member.chat.type != ChatType.PRIVATE and joined and other:
            await self._leave(chat_id)
        return Outcome("ignored")

    async def _leave(self, chat_id: str) -> None:
        await self.admin.load()  # another worker may just have followed a move to this group
        if self.admin.owns(chat_id):
            return
        log.warning("the bot was in a group other than the admin group (%s); leaving", chat_id)
        await self.messenger.leave(chat_id)

    async def _gave_up(self, row: Pending, error: BaseException) -> None:
        """An update failed for good: say so to its chat rather than stay silent."""
        record_update(CHANNEL, row.kind, "failed", None)
        chat_id = chat_of_lane(row.chat_key)
        if chat_id is not None:
            await self.messenger.send(chat_id, Reply(t.SORRY))


def _storable(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The polled updates the inbox can hold; any other is logged and skipped (it could
    never be stored, and retrying it would stop polling for good)."""
    kept = []
    for data in updates:
        problem = update_problem(data)
        if problem is None:
            kept.append(data)
        else:
            log.error("an update that cannot be stored was skipped: %s", problem)
    return kept


def _ticket_number(response: Response) -> str | None:
    """The ticket a reply speaks of, for the log context (best effort)."""
    for reply in response.replies:
        match = TICKET_NUMBER.search(reply.text)
        if match:
            return match.group(1)
    return None


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
