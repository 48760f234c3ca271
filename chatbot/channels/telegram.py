"""Telegram through python-telegram-bot: one entry handler per update, a Messenger for output.

PTB's ConversationHandler keeps state in process memory; our dialogs keep it in the store,
so this adapter only converts updates and renders replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from chatbot.app import App
from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.messages import (
    DeliveryError,
    Incoming,
    IncomingFile,
    Keyboard,
    MessageGone,
    OutgoingFile,
    Reply,
    Response,
    SharedContact,
)
from chatbot.conversations.outbox_sender import OutboxSender
from chatbot.conversations.router import Router
from chatbot.store import Store

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ADMINS_CACHE = timedelta(minutes=5)
PTBApp = Application[Any, Any, Any, Any, Any, Any]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None


def _markup(reply: Reply) -> Markup:
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(b.label, web_app=WebAppInfo(url=b.url))
                    if b.url and b.web_app
                    else InlineKeyboardButton(b.label, url=b.url)
                    if b.url
                    else InlineKeyboardButton(b.label, callback_data=b.data)
                    for b in row
                ]
                for row in reply.buttons
            ]
        )
    if reply.keyboard is Keyboard.SHARE_CONTACT:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(t.SHARE_CONTACT, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.keyboard is Keyboard.REMOVE:
        return ReplyKeyboardRemove()
    if reply.force_reply:
        return ForceReply(selective=True)
    return None


def _delivery_error(error: TelegramError) -> DeliveryError:
    if isinstance(error, Forbidden):
        return DeliveryError(error.message, permanent=True)
    if isinstance(error, RetryAfter):
        retry = error.retry_after
        seconds = retry.total_seconds() if isinstance(retry, timedelta) else float(retry)
        return DeliveryError(error.message, permanent=False, retry_after=seconds)
    if isinstance(error, BadRequest):
        return DeliveryError(error.message, permanent=True)
    return DeliveryError(error.message, permanent=False)


class TelegramMessenger:
    """The Messenger port over PTB's Bot."""

    def __init__(self, application: PTBApp, admin_chat_id: int) -> None:
        self._app = application
        self._admin_chat_id = str(admin_chat_id)

    @property
    def admin_chat_id(self) -> str:
        return self._admin_chat_id

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        try:
            message = await self._app.bot.send_message(
                chat_id=int(chat_id),
                text=reply.text,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(reply),
                protect_content=reply.protect or None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=ReplyParameters(int(reply_to), allow_sending_without_reply=True)
                if reply_to
                else None,
            )
        except TelegramError as error:
            raise _delivery_error(error) from None
        return str(message.message_id)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        markup = _markup(reply)
        try:
            await self._app.bot.edit_message_text(
                chat_id=int(chat_id),
                message_id=int(message_id),
                text=reply.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as error:
            if "message is not modified" in error.message.lower():
                return
            if "message to edit not found" in error.message.lower():
                raise MessageGone(error.message) from None
            raise _delivery_error(error) from None
        except TelegramError as error:
            raise _delivery_error(error) from None

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        ids: list[str] = []
        reply = (
            ReplyParameters(int(reply_to), allow_sending_without_reply=True) if reply_to else None
        )
        try:
            if len(files) == 1:
                only = files[0]
                message = await self._app.bot.send_document(
                    chat_id=int(chat_id),
                    document=await asyncio.to_thread(Path(only.path).read_bytes),
                    filename=only.name,
                    caption=only.caption,
                    reply_parameters=reply,
                )
                return [str(message.message_id)]
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
                messages = await self._app.bot.send_media_group(
                    chat_id=int(chat_id), media=media, reply_parameters=reply
                )
                ids += [str(m.message_id) for m in messages]
        except TelegramError as error:
            raise _delivery_error(error) from None
        return ids

    async def delete(self, chat_id: str, message_id: str) -> None:
        try:
            await self._app.bot.delete_message(chat_id=int(chat_id), message_id=int(message_id))
        except BadRequest as error:
            if "not found" in error.message.lower():
                return
            raise _delivery_error(error) from None
        except TelegramError as error:
            raise _delivery_error(error) from None

    async def download(self, file_id: str) -> bytes:
        try:
            file = await self._app.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as error:
            raise _delivery_error(error) from None


class AdminDirectory:
    """Who may act for the Admin Agency: the configured ids, else the group's administrators."""

    def __init__(
        self,
        application: PTBApp,
        chat_id: int,
        allowed: frozenset[int],
        store: Store,
    ) -> None:
        self._app = application
        self._chat_id = chat_id
        self._allowed = allowed
        self._store = store

    async def is_admin(self, user_id: int) -> bool:
        if self._allowed:
            return user_id in self._allowed
        key = f"admins:{CHANNEL}:{self._chat_id}"
        cached = await self._store.get(key)
        if cached is None:
            members = await self._app.bot.get_chat_administrators(self._chat_id)
            ids = ",".join(str(m.user.id) for m in members if not m.user.is_bot)
            await self._store.set(key, ids.encode(), ADMINS_CACHE)
            cached = ids.encode()
        return str(user_id) in cached.decode().split(",")


def _name(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "?"
    return user.full_name or user.username or str(user.id)


def _file(message: Message) -> IncomingFile | None:
    if message.document is not None:
        doc = message.document
        return IncomingFile(doc.file_id, doc.file_name, doc.mime_type, doc.file_size)
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        return IncomingFile(largest.file_id, None, "image/jpeg", largest.file_size, is_photo=True)
    return None


def _other(message: Message) -> str | None:
    for kind in (
        "sticker",
        "voice",
        "audio",
        "video",
        "video_note",
        "animation",
        "location",
        "poll",
        "venue",
        "dice",
        "game",
    ):
        if getattr(message, kind, None):
            return kind
    return "other"


def to_incoming(update: Update, bot_id: int, is_admin: bool) -> Incoming | None:
    """Map a Telegram update to our Incoming; None for kinds we do not handle."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or user.is_bot:
        return None
    base = {
        "channel": CHANNEL,
        "update_id": str(update.update_id),
        "chat_id": str(chat.id),
        "user_id": str(user.id),
        "user_name": _name(update),
        "in_group": chat.type in (ChatType.GROUP, ChatType.SUPERGROUP),
        "sender_is_admin": is_admin,
    }
    query: CallbackQuery | None = update.callback_query
    if query is not None:
        message_id = str(query.message.message_id) if query.message else None
        return Incoming(**base, button=query.data or "", message_id=message_id)  # type: ignore[arg-type]
    message = update.message
    if message is None:
        return None
    replied = message.reply_to_message
    fields: dict[str, object] = {
        "message_id": str(message.message_id),
        "replied_to_bot": bool(replied and replied.from_user and replied.from_user.id == bot_id),
        "reply_to_message_id": str(replied.message_id) if replied else None,
    }
    if message.text is not None:
        fields["text"] = message.text
    elif message.contact is not None:
        contact = message.contact
        fields["contact"] = SharedContact(
            contact.phone_number, str(contact.user_id) if contact.user_id else None
        )
    elif (file := _file(message)) is not None:
        fields["file"] = file
    else:
        fields["other"] = _other(message)
    return Incoming(**base, **fields)  # type: ignore[arg-type]


class TelegramChannel:
    """Wires PTB's Application to the router, the outbox sender and the admin directory."""

    def __init__(self, app: App) -> None:
        settings = app.settings
        assert settings.telegram_bot_token is not None
        assert settings.telegram_admin_chat_id is not None
        self.app = app
        self.application: PTBApp = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token.get_secret_value())
            .base_url(settings.telegram_api_url)
            .base_file_url(settings.telegram_file_url)
            .concurrent_updates(False)
            .build()
        )
        self.messenger = TelegramMessenger(self.application, settings.telegram_admin_chat_id)
        self.admins = AdminDirectory(
            self.application,
            settings.telegram_admin_chat_id,
            settings.telegram_admin_user_ids,
            app.store,
        )
        self.router = Router(Context(app.services, self.messenger))
        self.sender = OutboxSender(app.services, app.outbox, self.messenger)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    async def _on_update(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        chat = update.effective_chat
        needs_admin = (chat is not None and chat.type != ChatType.PRIVATE) or (
            update.callback_query is not None
            and (update.callback_query.data or "").startswith("a|")
        )
        is_admin = bool(user and needs_admin and await self.admins.is_admin(user.id))
        incoming = to_incoming(update, self.application.bot.id, is_admin)
        if incoming is None:
            if update.callback_query is not None:
                await update.callback_query.answer()
            return
        if (
            incoming.in_group
            and incoming.button is None
            and not incoming.replied_to_bot
            and incoming.command is None
        ):
            return  # ordinary group talk is none of our business
        response = await self.router.handle(incoming)
        await self.render(incoming, response, update.callback_query)
        await self.sender.flush()

    async def render(
        self, incoming: Incoming, response: Response, query: CallbackQuery | None
    ) -> None:
        if query is not None:
            try:
                toast = response.toast
                if toast and len(toast) > 200:  # Telegram's limit for callback answers
                    toast = toast[:199] + "…"
                await query.answer(text=toast, show_alert=response.alert)
            except BadRequest:
                log.info("callback query too old to answer")
        for reply in response.replies:
            try:
                if reply.edit_message_id:
                    await self.messenger.edit(incoming.chat_id, reply.edit_message_id, reply)
                else:
                    await self.messenger.send(incoming.chat_id, reply)
            except DeliveryError as failed:
                log.warning("reply to chat not delivered: %s", failed.reason)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Never log the update itself: it may hold a NIP or a password.
        log.error("handling an update failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            with contextlib.suppress(TelegramError):
                await context.bot.send_message(
                    update.effective_chat.id, "Maaf, terjadi gangguan. Silakan coba lagi."
                )

    async def start(self, *, polling: bool = True) -> None:
        await self.application.initialize()
        await self.application.start()
        await self.application.bot.set_my_commands(
            [
                ("start", "Menu utama"),
                ("ajukan", "Ajukan permohonan"),
                ("status", "Status tiket"),
                ("batal", "Batalkan pengisian"),
                ("bantuan", "Bantuan"),
            ]
        )
        if polling and self.application.updater is not None:
            await self.application.updater.start_polling(
                allowed_updates=["message", "callback_query"], drop_pending_updates=False
            )

    async def stop(self) -> None:
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
