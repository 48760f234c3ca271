"""Telegram in: updates into the pipeline's inbox before they are acknowledged, and what a
stored update means once the pipeline hands it back.

python-telegram-bot serves as the Bot API client only. Its own ingress (Updater and
Application) confirms an update before handling it and queues it in memory, so a crash
would lose it; here the long-polling offset moves, and the webhook answers 200, only once
the update is committed to the inbox. The pipeline (chatbot/pipeline/) does the rest: its
worker hands each stored update to `interpret`, routes it, commits the replies with the mark
that it was handled, and its sender delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, BotCommandScopeChat, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Conflict, InvalidToken, TelegramError
from telegram.request import HTTPXRequest

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
from chatbot.conversations.messages import Incoming, Reply, Response
from chatbot.db.models import utcnow
from chatbot.pipeline.ports import Described, Interpreted
from chatbot.services.chats import ChatMigrations
from chatbot.settings import Settings
from chatbot.store import Store

log = logging.getLogger(__name__)

POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates open
# A tap must be answered within seconds or the user's app shows an error; if handling is
# slower than this (a slow database), it is answered empty and the result shows in chat.
CALLBACK_DEADLINE = 0.5
CALLBACK_CLAIM = timedelta(hours=1)
# The pipeline's door (Ingress.receive): a channel's raw updates into the inbox.
Receive = Callable[[str, Sequence[dict[str, Any]]], Awaitable[int]]
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


def make_bot(settings: Settings) -> Bot:
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
    """The Telegram adapter: long polling or the webhook into the pipeline's ingress, and
    what a stored update means (the admin check, group moves, the bot's own membership)."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        store: Store,
        migrations: ChatMigrations,
        *,
        limits: PaceLimits = TELEGRAM_LIMITS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        assert settings.telegram_admin_chat_id is not None
        self.bot = make_bot(settings)
        self._store = store
        self.admin = AdminChat(settings.telegram_admin_chat_id, migrations)
        # The supervisor's chat (escalations) may be a group: the bot stays in it, silent.
        self._supervisor = (
            str(settings.supervisor_chat_id) if settings.supervisor_chat_id is not None else None
        )
        self.messenger = TelegramMessenger(
            self.bot, self.admin, Pacer(store, CHANNEL, limits, clock)
        )
        self.admins = AdminDirectory(self.bot, self.admin, settings.telegram_admin_user_ids, store)
        self._ingress: Receive | None = None
        self._timers: set[asyncio.Task[None]] = set()

    def connect(self, receive: Receive) -> None:
        """Where arrivals go: the pipeline's ingress."""
        self._ingress = receive

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
        """Commit updates to the inbox (see Ingress.receive); only then may they be
        acknowledged to Telegram."""
        assert self._ingress is not None, "connect() the channel to the pipeline first"
        return await self._ingress(CHANNEL, updates)

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
        return await self._store.set_if_absent(f"cbq:{query_id}", b"1", CALLBACK_CLAIM)

    # ---- the adapter port (pipeline/ports.py) ------------------------------------------------

    def problem(self, raw: dict[str, Any]) -> str | None:
        return update_problem(raw)

    def describe(self, raw: dict[str, Any]) -> Described:
        chat_key, kind = describe(raw)
        return Described(str(raw["update_id"]), chat_key, kind)

    def arrived(self, raw: dict[str, Any]) -> None:
        """A tap must be answered within seconds: start its deadline now."""
        self._answer_soon(raw)

    def chat_of(self, chat_key: str) -> str | None:
        return chat_of_lane(chat_key)

    async def interpret(self, raw: dict[str, Any]) -> Interpreted:
        return await self._process(Update.de_json(raw, self.bot))

    async def acknowledge(self, raw: dict[str, Any], response: Response | None) -> None:
        """Answer a tap with its toast (or empty), unless the deadline answered it already."""
        query = raw.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            await self._answer(str(query["id"]), response)

    async def _answer(self, query_id: str, response: Response | None) -> None:
        if not await self._claim_answer(query_id):
            if response and response.toast:
                log.info("a tap was answered before its result was ready; toast dropped")
            return
        toast = response.toast if response else None
        if toast and len(toast) > 200:  # Telegram's limit for callback answers
            toast = toast[:199] + "…"
        try:
            await self.bot.answer_callback_query(
                query_id, text=toast, show_alert=bool(response and response.alert)
            )
        except BadRequest:
            log.info("callback query too old to answer")
        except TelegramError as error:
            log.warning("answering a tap failed: %s", type(error).__name__)

    async def _process(self, update: Update) -> Interpreted:
        settled = await self._settle_chat_events(update)
        if settled is not None:
            return settled
        chat = update.effective_chat
        user = update.effective_user
        needs_admin = (chat is not None and chat.type != ChatType.PRIVATE) or (
            update.callback_query is not None
            and (update.callback_query.data or "").startswith("a|")
        )
        is_admin = bool(user and needs_admin and await self.admins.is_admin(user.id))
        incoming = to_incoming(update, self.bot.id, is_admin)
        if incoming is None or (incoming.in_group and not self._addressed(incoming)):
            return Interpreted(ignored=True)
        return Interpreted(incoming)

    async def _settle_chat_events(self, update: Update) -> Interpreted | None:
        """What the adapter settles itself: a group's move to a supergroup, the bot's own
        membership, the supervisors' group (it only receives), strange groups (left)."""
        chat = update.effective_chat
        move = _group_move(update)
        if move is not None:
            return await self._migrated(*move)
        if update.my_chat_member is not None:
            return await self._membership(update)
        if chat is None or chat.type == ChatType.PRIVATE:
            return None
        if str(chat.id) == self._supervisor:
            return Interpreted(ignored=True)  # the group only receives
        if not self.admin.owns(str(chat.id)):
            await self._leave(str(chat.id))
            return Interpreted(ignored=True)
        return None

    def _addressed(self, incoming: Incoming) -> bool:
        """A group message for us: a button, a reply to the bot, or a command not addressed
        to another bot; ordinary group talk is none of our business."""
        if incoming.button is None and not incoming.replied_to_bot and incoming.command is None:
            return False
        return not for_another_bot(incoming.text, self.bot.username)

    async def _migrated(self, old: str, new: str) -> Interpreted:
        if not self.admin.owns(old):
            return Interpreted(ignored=True)
        first = await self.admin.follow(old, new)
        return Interpreted(replies=[(new, Reply(t.group_migrated(new)))] if first else [])

    async def _membership(self, update: Update) -> Interpreted:
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
        return Interpreted(ignored=True)

    async def _leave(self, chat_id: str) -> None:
        await self.admin.load()  # another worker may just have followed a move to this group
        if self.admin.owns(chat_id):
            return
        log.warning("the bot was in a group other than the admin group (%s); leaving", chat_id)
        await self.messenger.leave(chat_id)


def _group_move(update: Update) -> tuple[str, str] | None:
    """(old, new) chat id when a group became a supergroup; the move is seen from both."""
    chat, message = update.effective_chat, update.message
    if message is None or chat is None:
        return None
    if message.migrate_to_chat_id is not None:
        return str(chat.id), str(message.migrate_to_chat_id)
    if message.migrate_from_chat_id is not None:  # seen from the new supergroup (may be first)
        return str(message.migrate_from_chat_id), str(chat.id)
    return None


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


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
