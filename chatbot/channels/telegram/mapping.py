"""Telegram's shapes to ours and back: updates to Incoming, replies to reply markup."""

from __future__ import annotations

import re
from typing import Any

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType

from chatbot.conversations import texts as t
from chatbot.conversations.messages import (
    Incoming,
    IncomingFile,
    Keyboard,
    Reply,
    SharedContact,
)

CHANNEL = "telegram"
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None


def markup(reply: Reply) -> Markup:
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


def for_another_bot(text: str | None, username: str) -> bool:
    """A group command addressed to another bot (`/start@other_bot`): none of our business."""
    if not text or not text.startswith("/"):
        return False
    _, at, addressee = text.split(maxsplit=1)[0].partition("@")
    return bool(at) and addressee.lower() != username.lower()


# The update kinds we ask Telegram for (allowed_updates), and handle.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


# Telegram's ids (update_id, chat.id, from.id) are signed 64-bit integers.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _id_problem(value: object, what: str) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{what} is not an integer"
    if not INT64_MIN <= value <= INT64_MAX:
        return f"{what} is outside the 64-bit range"
    return None


def update_problem(data: object) -> str | None:
    """Why a raw update cannot be stored in the inbox (None: it can). The inbox keys rows by
    update_id and chat, in columns of bounded length; an id outside Telegram's 64-bit range
    would be refused by the database on every delivery, so it is refused at the door."""
    if not isinstance(data, dict):
        return "not an update"
    problem = _id_problem(data.get("update_id"), "update_id")
    if problem is not None:
        return problem
    for kind, body in data.items():
        if kind == "update_id":
            continue
        if not isinstance(body, dict):
            if kind in ALLOWED_UPDATES:
                return f"{kind} is not an object"
            continue
        holders = [body]
        if isinstance(body.get("message"), dict):  # a callback query's message
            holders.append(body["message"])
        for holder in holders:
            for key in ("chat", "from", "user"):
                party = holder.get(key)
                if party is None:
                    continue
                if not isinstance(party, dict):
                    return f"{kind[:32]}.{key} is not an object"
                problem = _id_problem(party.get("id"), f"{kind[:32]}.{key}.id")
                if problem is not None:
                    return problem
    return None


# The lane of an update without a chat: never mistaken for a chat id (those are integers).
NO_CHAT = "update-"


def describe(data: dict[str, Any]) -> tuple[str, str]:
    """(chat key, kind) of a raw update (checked by `update_problem`): what the inbox orders
    and counts it by. An update without a chat gets a lane of its own, so it holds up no
    other update."""
    update_id = data["update_id"]
    kind = next((k for k in data if k != "update_id"), "unknown")
    body = data.get(kind)
    chat_id: object = None
    if isinstance(body, dict):
        if kind == "callback_query":
            message = body.get("message")
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat_id = message["chat"].get("id")
            elif isinstance(body.get("from"), dict):
                chat_id = body["from"].get("id")
        elif isinstance(body.get("chat"), dict):
            chat_id = body["chat"].get("id")
    lane = str(chat_id) if chat_id is not None else f"{NO_CHAT}{update_id}"
    return f"{CHANNEL}:{lane}", kind[:32]


def chat_of_lane(chat_key: str) -> str | None:
    """The chat id an inbox lane belongs to, or None for an update without a chat."""
    chat_id = chat_key.removeprefix(f"{CHANNEL}:")
    return chat_id if re.fullmatch(r"-?\d+", chat_id) else None
