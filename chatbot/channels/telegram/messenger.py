"""The Messenger port over python-telegram-bot's Bot: paced, classified, migration-aware."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputMediaDocument,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from chatbot.channels.pacing import Pacer
from chatbot.channels.telegram.mapping import CHANNEL, markup
from chatbot.conversations.messages import DeliveryError, MessageGone, OutgoingFile, Reply
from chatbot.metrics import record_platform_error
from chatbot.services.chats import ChatMigrations
from chatbot.store import Store

log = logging.getLogger(__name__)

ADMINS_CACHE = timedelta(minutes=5)
T = TypeVar("T")


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: TelegramError, method: str) -> DeliveryError:
    """Telegram's refusal as ours: blocked and bad requests are final, the rest pass."""
    if isinstance(error, Forbidden):
        kind, permanent, retry = "blocked", True, None
    elif isinstance(error, RetryAfter):
        kind, permanent, retry = "rate_limited", False, _seconds(error.retry_after)
    elif isinstance(error, BadRequest):
        kind, permanent, retry = "bad_request", True, None
    elif isinstance(error, TimedOut):
        kind, permanent, retry = "timeout", False, None
    elif isinstance(error, NetworkError) and (
        "Bad Gateway" in error.message or "(5" in error.message
    ):
        kind, permanent, retry = "server_error", False, None
    else:
        kind, permanent, retry = "network", False, None
    record_platform_error(CHANNEL, method, kind)
    return DeliveryError(error.message, permanent=permanent, retry_after=retry, kind=kind)


class AdminChat:
    """Where the Admin Agency's group is now: the configured id, or where it moved."""

    def __init__(self, configured: int, migrations: ChatMigrations) -> None:
        self.configured = str(configured)
        self.id = self.configured
        self._migrations = migrations
        self.former: set[str] = set()

    async def load(self) -> None:
        self.id = await self._migrations.resolve(CHANNEL, self.configured)
        self.former = await self._migrations.former_ids(CHANNEL, self.id)
        if self.id != self.configured:
            log.warning(
                "the admin group moved to %s; set TELEGRAM_ADMIN_CHAT_ID=%s", self.id, self.id
            )

    def owns(self, chat_id: str) -> bool:
        return chat_id == self.id or chat_id in self.former

    async def follow(self, old: str, new: str) -> bool:
        """The group became a supergroup: use the new id from now on. True when this
        worker was first to record it (it tells the group)."""
        first = await self._migrations.record(CHANNEL, old, new)
        if old == self.id or old in self.former:
            self.former.add(old)
            self.id = new
        log.warning(
            "the admin group was upgraded to a supergroup: now %s; "
            "update TELEGRAM_ADMIN_CHAT_ID=%s in the settings",
            new,
            new,
        )
        return first


class TelegramMessenger:
    """Every call paced in the shared store; `wait=False` raises Throttled instead of waiting
    (for the outbox sender, which moves on to other chats)."""

    def __init__(self, bot: Bot, admin: AdminChat, pacer: Pacer, *, wait: bool = True) -> None:
        self._bot = bot
        self._admin = admin
        self._pacer = pacer
        self._wait = wait

    def deferring(self) -> TelegramMessenger:
        return TelegramMessenger(self._bot, self._admin, self._pacer, wait=False)

    @property
    def admin_chat_id(self) -> str:
        return self._admin.id

    async def _call(self, method: str, chat_id: str, call: Callable[[int], Awaitable[T]]) -> T:
        """Pace, call, classify; a call to a group that moved follows it once."""
        await self._pacer.turn(chat_id, group=chat_id.startswith("-"), wait=self._wait)
        try:
            return await call(int(chat_id))
        except ChatMigrated as moved:
            new = str(moved.new_chat_id)
            if self._admin.owns(chat_id):
                await self._admin.follow(chat_id, new)
            record_platform_error(CHANNEL, method, "bad_request")
            try:
                return await call(int(new))
            except TelegramError as error:
                raise delivery_error(error, method) from None
        except TelegramError as error:
            raise delivery_error(error, method) from None

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        async def call(chat: int) -> str:
            message = await self._bot.send_message(
                chat_id=chat,
                text=reply.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(reply),
                protect_content=reply.protect or None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=ReplyParameters(int(reply_to), allow_sending_without_reply=True)
                if reply_to
                else None,
            )
            return str(message.message_id)

        return await self._call("sendMessage", chat_id, call)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        keyboard = markup(reply)

        async def call(chat: int) -> None:
            try:
                await self._bot.edit_message_text(
                    chat_id=chat,
                    message_id=int(message_id),
                    text=reply.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard if isinstance(keyboard, InlineKeyboardMarkup) else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except BadRequest as error:
                text = error.message.lower()
                if "message is not modified" in text:
                    return  # the edit was made before (a retry): done
                if "message to edit not found" in text:
                    raise MessageGone(error.message) from None
                raise

        await self._call("editMessageText", chat_id, call)

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        reply = (
            ReplyParameters(int(reply_to), allow_sending_without_reply=True) if reply_to else None
        )
        ids: list[str] = []
        if len(files) == 1:
            only = files[0]
            content = await asyncio.to_thread(Path(only.path).read_bytes)

            async def one(chat: int) -> str:
                if only.photo:
                    message = await self._bot.send_photo(
                        chat_id=chat,
                        photo=content,
                        filename=only.name,
                        caption=only.caption,
                        reply_parameters=reply,
                    )
                else:
                    message = await self._bot.send_document(
                        chat_id=chat,
                        document=content,
                        filename=only.name,
                        caption=only.caption,
                        reply_parameters=reply,
                    )
                return str(message.message_id)

            method = "sendPhoto" if only.photo else "sendDocument"
            return [await self._call(method, chat_id, one)]
        for start in range(0, len(files), 10):
            chunk = files[start : start + 10]
            if len(chunk) == 1:  # an album needs two or more; send the last one alone
                ids += await self.send_files(chat_id, chunk, reply_to)
                continue
            contents = [await asyncio.to_thread(Path(f.path).read_bytes) for f in chunk]

            media = [
                InputMediaDocument(content, filename=f.name, caption=f.caption)
                for f, content in zip(chunk, contents, strict=True)
            ]

            async def album(chat: int, media: list[InputMediaDocument] = media) -> list[str]:
                messages = await self._bot.send_media_group(
                    chat_id=chat, media=media, reply_parameters=reply
                )
                return [str(m.message_id) for m in messages]

            ids += await self._call("sendMediaGroup", chat_id, album)
        return ids

    async def delete(self, chat_id: str, message_id: str) -> None:
        try:
            await self._bot.delete_message(chat_id=int(chat_id), message_id=int(message_id))
        except BadRequest as error:
            if "not found" in error.message.lower():
                return
            raise delivery_error(error, "deleteMessage") from None
        except TelegramError as error:
            raise delivery_error(error, "deleteMessage") from None

    async def download(self, file_id: str) -> bytes:
        try:
            file = await self._bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as error:
            raise delivery_error(error, "getFile") from None

    async def leave(self, chat_id: str) -> None:
        try:
            await self._bot.leave_chat(int(chat_id))
        except TelegramError as error:
            raise delivery_error(error, "leaveChat") from None


class AdminDirectory:
    """Who may act for the Admin Agency: the configured ids, else the group's administrators."""

    def __init__(self, bot: Bot, admin: AdminChat, allowed: frozenset[int], store: Store) -> None:
        self._bot = bot
        self._admin = admin
        self._allowed = allowed
        self._store = store

    async def is_admin(self, user_id: int) -> bool:
        if self._allowed:
            return user_id in self._allowed
        key = f"admins:{CHANNEL}:{self._admin.id}"
        cached = await self._store.get(key)
        if cached is None:
            try:
                members = await self._bot.get_chat_administrators(int(self._admin.id))
            except TelegramError as error:
                raise delivery_error(error, "getChatAdministrators") from None
            ids = ",".join(str(m.user.id) for m in members if not m.user.is_bot)
            await self._store.set(key, ids.encode(), ADMINS_CACHE)
            cached = ids.encode()
        return str(user_id) in cached.decode().split(",")
