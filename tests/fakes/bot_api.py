"""A strict, in-process fake of the Telegram Bot API served over real HTTP.

python-telegram-bot talks to it exactly as to Telegram (``base_url=fake.base_url``,
``base_file_url=fake.file_url``).  Every request is validated against the Bot API spec
(:mod:`tests.fakes.bot_api_spec`); whatever real Telegram would refuse is refused with the
real error text, and requests that can only come from a bug in the bot are also recorded in
``fake.violations``.  Tests script the users' side (``send_text``, ``press_button``, ...) and
observe the bot through ``calls``, ``chat_messages`` and the ``wait_for_*`` helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import secrets
import socket
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from email.message import Message as EmailMessage
from email.parser import HeaderParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.bot_api_flood import FloodControl
from tests.fakes.bot_api_html import ParseError, parse_text, utf16_len
from tests.fakes.bot_api_models import (
    ApiCall,
    ApiError,
    FakeChat,
    FakeMessage,
    FakeUser,
    JsonDict,
    StoredFile,
)
from tests.fakes.bot_api_spec import BotApiSpec, SpecError, UploadedFile

__all__ = ["ApiCall", "ApiError", "FakeBotApi", "FakeMessage"]

MESSAGE_TEXT_MAX = 4096
CAPTION_MAX = 1024
CALLBACK_ANSWER_TEXT_MAX = 200
GET_FILE_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_MAX_BYTES = 50 * 1024 * 1024
PHOTO_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
MEDIA_GROUP_MIN, MEDIA_GROUP_MAX = 2, 10
BOT_COMMANDS_MAX = 100
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
FIRST_UPDATE_ID = 100_000_001

Handler = Callable[[JsonDict], Awaitable[Any]]

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class _Signal:
    """Wakes every waiter whenever state changes (callable from sync code, race-free)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], object], timeout: float | None) -> None:
        """Wait until ``predicate()`` is truthy; raises TimeoutError after ``timeout``."""
        async with asyncio.timeout(timeout):
            while not predicate():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)


class _QueuedUpdate:
    """An update waiting in the getUpdates queue."""

    __slots__ = ("delivered", "forced", "update")

    def __init__(self, update: JsonDict, *, forced: bool = False) -> None:
        self.update = update
        self.forced = forced  # redelivered: survives the offset until delivered once
        self.delivered = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next(k for k in self.update if k != "update_id")


class FakeBotApi:
    """Strict local Telegram Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_username: str = "fake_test_bot",
        bot_first_name: str = "Fake Bot",
        privacy_mode: bool = True,
        spec_path: Path | None = None,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            msg = f"token must look like '<bot id>:<secret>', got {token!r}"
            raise ValueError(msg)
        self.token = token
        self.spec = BotApiSpec.load(spec_path)
        self.bot = FakeUser(id=int(bot_id), first_name=bot_first_name, username=bot_username)
        self.bot.is_bot = True
        self.privacy_mode = privacy_mode

        self.calls: list[ApiCall] = []
        self.violations: list[str] = []
        self.callback_answers: dict[str, JsonDict] = {}
        self.deleted_user_messages: dict[tuple[int, int], FakeMessage] = {}
        self.chat_actions: list[tuple[int | str, str]] = []
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        self.webhook_url: str = ""

        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.messages: dict[int, dict[int, FakeMessage]] = defaultdict(dict)
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._callback_queries: dict[str, JsonDict] = {}
        self._expired_queries: set[str] = set()

        self._queue: list[_QueuedUpdate] = []
        self._allowed_updates: list[str] | None = None
        self._injected: list[JsonDict] = []
        self._update_ids = itertools.count(FIRST_UPDATE_ID)
        self._ids = itertools.count(1)
        self._poll_generation = 0
        self._polls_waiting = 0
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)
        self._consumed_calls: set[int] = set()
        self._signal = _Signal()
        self._closing = False
        self._hangs: dict[str, int] = defaultdict(int)
        # Called with (method, params) before a valid call is processed; True drops the
        # call as if it never reached Telegram (e.g. the test killed the bot meanwhile).
        self.before_call: Callable[[str, JsonDict], bool] | None = None
        # Telegram's flood limits, off unless a benchmark or a test switches them on.
        self.flood: FloodControl | None = None

        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._log_out,
            "close": self._log_out,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageMedia": self._edit_message_media,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendMediaGroup": self._send_media_group,
            "getFile": self._get_file,
            "leaveChat": self._leave_chat,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "sendChatAction": self._send_chat_action,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
        }
        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._file_endpoint, methods=["GET"]),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    # ================================================================== lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on an ephemeral port and start serving."""
        if self._server is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._server, self._socket = server, sock
        self._closing = False

    async def stop(self) -> None:
        """Release pending long polls and shut the server down."""
        if self._server is None:
            return
        self._closing = True
        self._signal.notify()
        server, sock = self._server, self._socket
        self._server = self._socket = None
        server.should_exit = True
        await server.shutdown(sockets=[sock] if sock else None)

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``base_url`` for python-telegram-bot (it appends ``<token>/<method>``)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """``base_file_url`` for python-telegram-bot (it appends ``<token>/<file_path>``)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_id(self) -> int:
        """The bot's user id (the number before the colon of the token)."""
        return self.bot.id

    # ================================================================== scripting: people

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        last_name: str | None = None,
        started: bool = True,
        *,
        language_code: str | None = None,
    ) -> JsonDict:
        """Create a user (and the private chat with the bot); returns the User JSON."""
        if user_id <= 0:
            msg = f"user ids are positive, got {user_id}"
            raise ValueError(msg)
        user = FakeUser(
            id=user_id,
            first_name=first_name,
            username=username,
            last_name=last_name,
            started=started,
            language_code=language_code,
        )
        self.users[user_id] = user
        self.chats.setdefault(user_id, FakeChat(id=user_id, type="private"))
        return user.to_json()

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sending to them now fails with 403."""
        self._user(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        """The user unblocks (restarts) the bot."""
        user = self._user(user_id)
        user.blocked = False
        user.started = True

    def add_group(
        self,
        chat_id: int,
        title: str,
        admin_ids: list[int],
        member_ids: Iterable[int] = (),
    ) -> JsonDict:
        """Create a group containing the bot; ``-100…`` ids make a supergroup."""
        if chat_id >= 0:
            msg = f"group ids are negative, got {chat_id}"
            raise ValueError(msg)
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = FakeChat(
            id=chat_id,
            type=kind,
            title=title,
            admin_ids=list(admin_ids),
            member_ids=list(member_ids),
        )
        self.chats[chat_id] = chat
        return chat.to_json(self.users)

    # ================================================================== scripting: updates

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict:
        """The user sends a text message (a leading "/" makes it a bot command)."""
        extra: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(user_id, chat_id, extra, reply_to_message_id)

    def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str,
        chat_id: int | None = None,
        caption: str | None = None,
        *,
        declared_size: int | None = None,
    ) -> JsonDict:
        """The user sends a file; ``declared_size`` fakes a big file without the bytes."""
        stored = self._store_file(
            "document", content, file_name=file_name, mime_type=mime_type, size=declared_size
        )
        extra: JsonDict = {"document": stored.document_json()}
        if caption is not None:
            extra["caption"] = caption
        return self._user_message(user_id, chat_id, extra)

    def send_photo(
        self, user_id: int, content: bytes, chat_id: int | None = None, caption: str | None = None
    ) -> JsonDict:
        """The user sends a photo: three downloadable sizes, the largest holds ``content``."""
        extra: JsonDict = {"photo": self._photo_sizes(content)}
        if caption is not None:
            extra["caption"] = caption
        return self._user_message(user_id, chat_id, extra)

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        chat_id: int | None = None,
    ) -> JsonDict:
        """The user shares a contact (their own when ``contact_user_id == user_id``)."""
        owner = self.users.get(contact_user_id) if contact_user_id is not None else None
        contact: JsonDict = {
            "phone_number": phone_number,
            "first_name": first_name or (owner.first_name if owner else "Contact"),
        }
        if owner and owner.last_name:
            contact["last_name"] = owner.last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(user_id, chat_id, {"contact": contact})

    def send_sticker(self, user_id: int, chat_id: int | None = None) -> JsonDict:
        """The user sends a sticker."""
        stored = self._store_file("sticker", b"RIFF\x00\x00\x00\x00WEBPVP8 fake", mime_type=None)
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": stored.size,
        }
        return self._user_message(user_id, chat_id, {"sticker": sticker})

    def send_voice(self, user_id: int, chat_id: int | None = None, duration: int = 2) -> JsonDict:
        """The user sends a voice message."""
        stored = self._store_file("voice", b"OggS\x00fake-voice", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return self._user_message(user_id, chat_id, {"voice": voice})

    def press_button(
        self, user_id: int, message: FakeMessage, callback_data: str, *, stale: bool = False
    ) -> JsonDict:
        """The user presses the inline button carrying ``callback_data`` on a bot message.

        ``stale=True``: the user's app has not yet received an edit of the message and still
        shows an older keyboard, so the button need not be on the message any more.
        """
        current = self.messages[message.chat_id].get(message.message_id)
        if current is None or current.deleted:
            msg = f"message {message.message_id} in chat {message.chat_id} does not exist"
            raise AssertionError(msg)
        chat = self.chats[current.chat_id]
        if not chat.is_member(user_id):
            msg = f"user {user_id} is not in chat {chat.id}"
            raise AssertionError(msg)
        datas = [b.get("callback_data") for row in current.inline_keyboard for b in row]
        if callback_data not in datas and not stale:
            msg = (
                f"message {current.message_id} has no button with callback_data "
                f"{callback_data!r}; buttons: {current.inline_keyboard}"
            )
            raise AssertionError(msg)
        query_id = str(4_200_000_000_000_000_000 + next(self._ids))
        query: JsonDict = {
            "id": query_id,
            "from": self._user(user_id).to_json(),
            "message": self._message_json(current),
            "chat_instance": str(-(abs(chat.id) * 7919 + self.bot.id)),
            "data": callback_data,
        }
        self._callback_queries[query_id] = {"answered": False, "query": query}
        return self.inject_update({"callback_query": query})

    def expire_callback_query(self, query_id: str) -> None:
        """Make a callback query too old to be answered."""
        self._expired_queries.add(query_id)

    def inject_update(self, body: JsonDict) -> JsonDict:
        """Queue an arbitrary update body (e.g. ``{"my_chat_member": {...}}``)."""
        update = {"update_id": next(self._update_ids), **body}
        self._queue.append(_QueuedUpdate(update))
        self._injected.append(update)
        self._signal.notify()
        return update

    def redeliver(self, update: JsonDict) -> JsonDict:
        """Deliver the very same update (same update_id) once more, as after a crash."""
        self._queue.append(_QueuedUpdate(update, forced=True))
        self._signal.notify()
        return update

    # ================================================================== scripting: control

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = 1,
    ) -> None:
        """Make the next valid call of ``method`` fail once with the given error."""
        canonical = self.spec.canonical_method(method)
        if canonical is None:
            msg = f"unknown Bot API method {method!r}"
            raise ValueError(msg)
        self._failures[canonical].append(ApiError(error_code, description, retry_after=retry_after))

    def hang_next(self, method: str) -> None:
        """Make the next valid call of ``method`` time out: no answer, and nothing done."""
        canonical = self.spec.canonical_method(method)
        if canonical is None:
            msg = f"unknown Bot API method {method!r}"
            raise ValueError(msg)
        self._hangs[canonical] += 1

    def migrate_group(self, chat_id: int, by_user: int) -> int:
        """Upgrade a group to a supergroup, as Telegram does: a new -100… id with the same
        members, a service message in each, and calls to the old id refused."""
        old = self.chats[chat_id]
        new_id = int(f"-100{abs(chat_id)}")
        self.add_group(new_id, old.title or "", list(old.admin_ids), list(old.member_ids))
        old.migrated_to = new_id
        notice = self._new_message(old, from_id=by_user, from_bot=False)
        body = self._message_json(notice)
        body["migrate_to_chat_id"] = new_id
        self.inject_update({"message": body})
        started = self._new_message(self.chats[new_id], from_id=by_user, from_bot=False)
        body = self._message_json(started)
        body["migrate_from_chat_id"] = chat_id
        self.inject_update({"message": body})
        return new_id

    def add_bot_to_group(self, chat_id: int, title: str, by_user: int) -> JsonDict:
        """Someone adds the bot to a (new) group: the my_chat_member update the bot gets."""
        if chat_id not in self.chats:
            self.add_group(chat_id, title, admin_ids=[by_user])
        chat = self.chats[chat_id]
        chat.bot_left = False
        bot = self.bot.to_json()
        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": chat.to_json(self.users),
                    "from": self._user(by_user).to_json(),
                    "date": int(time.time()),
                    "old_chat_member": {"user": bot, "status": "left"},
                    "new_chat_member": {"user": bot, "status": "member"},
                }
            }
        )

    # ================================================================== observing

    def chat_messages(self, chat_id: int) -> list[FakeMessage]:
        """Every message the bot sent to the chat, in order (deleted ones flagged)."""
        return [m for m in self.messages[chat_id].values() if m.from_bot]

    def user_messages(self, chat_id: int) -> list[FakeMessage]:
        """Messages users sent in the chat, in order."""
        return [m for m in self.messages[chat_id].values() if not m.from_bot]

    def last_message(self, chat_id: int) -> FakeMessage:
        """The latest message the bot sent to the chat (deleted or not)."""
        sent = self.chat_messages(chat_id)
        if not sent:
            msg = f"the bot sent nothing to chat {chat_id}; recent calls:\n{self._recent_calls()}"
            raise AssertionError(msg)
        return sent[-1]

    def message(self, chat_id: int, message_id: int) -> FakeMessage:
        """Any message by id."""
        return self.messages[chat_id][message_id]

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of callback queries the bot has not answered."""
        return [qid for qid, q in self._callback_queries.items() if not q["answered"]]

    def calls_of(self, method: str) -> list[ApiCall]:
        """All calls of one method."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def assert_no_violations(self) -> None:
        """Fail with every recorded violation."""
        if self.violations:
            listing = "\n".join(f"  - {v}" for v in self.violations)
            msg = f"the bot made invalid Bot API requests:\n{listing}"
            raise AssertionError(msg)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> ApiCall:
        """Wait for a call of ``method`` (matching ``predicate``) and return it.

        With ``since`` (take ``len(fake.calls)`` before acting) the first matching call at or
        after that index is returned; without it, the first matching call not returned by an
        earlier ``wait_for_call``.  Failed calls match too (check ``call.ok``).
        """
        canonical = self.spec.canonical_method(method) or method
        found: list[ApiCall] = []

        def find() -> bool:
            for call in self.calls[since or 0 :]:
                if call.method != canonical:
                    continue
                if since is None and call.index in self._consumed_calls:
                    continue
                if predicate is None or predicate(call):
                    found.append(call)
                    return True
            return False

        try:
            await self._signal.wait_for(find, timeout)
        except TimeoutError:
            msg = (
                f"no {canonical} call{' matching the predicate' if predicate else ''} "
                f"within {timeout}s (since={since}); recent calls:\n{self._recent_calls()}"
            )
            raise AssertionError(msg) from None
        self._consumed_calls.add(found[0].index)
        return found[0]

    async def wait_until(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever the fake's state changes)."""
        await self._signal.wait_for(predicate, timeout)

    async def wait_for_polling(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates long poll is waiting for updates (the bot is idle-polling)."""
        try:
            await self._signal.wait_for(lambda: self._polls_waiting > 0, timeout)
        except TimeoutError:
            msg = f"no getUpdates long poll within {timeout}s; calls:\n{self._recent_calls()}"
            raise AssertionError(msg) from None

    async def wait_for_updates_consumed(self, timeout: float = 5.0) -> None:
        """Wait until every injected update was fetched by getUpdates and confirmed."""
        try:
            await self._signal.wait_for(lambda: not self._queue, timeout)
        except TimeoutError:
            pending = [q.update for q in self._queue]
            msg = (
                f"updates not consumed within {timeout}s: {pending}\n"
                f"recent calls:\n{self._recent_calls(include_polls=True)}"
            )
            raise AssertionError(msg) from None

    def _recent_calls(self, limit: int = 20, *, include_polls: bool = False) -> str:
        shown = [c for c in self.calls if include_polls or c.method != "getUpdates"][-limit:]
        lines = [f"  {c.summary()}" for c in shown] or ["  (none)"]
        if self.violations:
            lines.append("violations:")
            lines.extend(f"  - {v}" for v in self.violations)
        return "\n".join(lines)

    # ================================================================== HTTP layer

    async def _api_endpoint(self, request: Request) -> Response:
        method_name = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").to_json(), 401)
        canonical = self.spec.canonical_method(method_name)
        call = ApiCall(
            index=len(self.calls), method=canonical or method_name, params={}, time=time.time()
        )
        try:
            raw, files = await _read_params(request)
            if canonical is None:
                raise ApiError(404, "Not Found: method not found", violation=True)
            try:
                call.params = self.spec.validate_call(canonical, raw, files)
            except SpecError as err:
                call.params = {**raw, **files}
                raise ApiError(err.error_code, err.description, violation=True) from None
            if self.before_call is not None and self.before_call(canonical, call.params):
                return Response(status_code=502)
            if self._hangs[canonical]:
                self._hangs[canonical] -= 1  # a timeout: never answered, never processed
                await self._signal.wait_for(lambda: self._closing, None)
                return Response(status_code=504)
            if self._failures[canonical]:
                raise self._failures[canonical].popleft()
            if self.flood is not None:
                wait = self.flood.check(canonical, call.params.get("chat_id"))
                if wait is not None:
                    raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            handler = self._handlers.get(canonical)
            if handler is None:
                raise ApiError(501, "Bad Request: method not supported by the fake", violation=True)
            call.result = await handler(call.params)
        except ApiError as err:
            call.ok = False
            call.error_code, call.description = err.error_code, err.description
            if err.violation:
                self.violations.append(f"{call.method}: {err.description} (params: {call.params})")
            self._record(call)
            return _json_response(err.to_json(), err.error_code)
        self._record(call)
        return _json_response({"ok": True, "result": call.result}, 200)

    def _record(self, call: ApiCall) -> None:
        call.index = len(self.calls)
        self.calls.append(call)
        self._signal.notify()

    async def _file_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").to_json(), 401)
        stored = self._files_by_path.get(request.path_params["file_path"])
        if stored is None:
            return _json_response(ApiError(404, "Not Found").to_json(), 404)
        return Response(stored.content, media_type="application/octet-stream")

    # ================================================================== helpers: lookup

    def _user(self, user_id: int) -> FakeUser:
        try:
            return self.users[user_id]
        except KeyError:
            msg = f"unknown user {user_id}; call fake.add_user() first"
            raise AssertionError(msg) from None

    def _chat(self, chat_id: int | str) -> FakeChat:
        """Resolve a chat_id parameter (400 "chat not found" like Telegram)."""
        if isinstance(chat_id, int):
            chat = self.chats.get(chat_id)
            if chat is not None and chat.migrated_to is not None:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    migrate_to_chat_id=chat.migrated_to,
                )
            if chat is not None and chat.bot_left:
                raise ApiError(403, "Forbidden: bot is not a member of the group chat")
            if chat is not None:
                return chat
        raise ApiError(400, "Bad Request: chat not found")

    def _writable_chat(self, chat_id: int | str) -> FakeChat:
        """A chat the bot may post in (403 for users who blocked or never started it)."""
        chat = self._chat(chat_id)
        if chat.type == "private":
            user = self.users[chat.id]
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _target_message(self, params: JsonDict, *, purpose: str = "edit") -> FakeMessage:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID", violation=True)
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified", violation=True)
        chat = self._writable_chat(params["chat_id"])
        message = self.messages[chat.id].get(params["message_id"])
        if message is None or message.deleted:
            raise ApiError(400, f"Bad Request: message to {purpose} not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited", violation=True)
        return message

    # ================================================================== helpers: content

    def _parse(self, text: str, params: JsonDict, *, entities_key: str) -> tuple[str, list[Any]]:
        if entities_key in params:
            plain = text.strip(" \t\n\r\v\f")
            return plain, list(params[entities_key])
        try:
            return parse_text(text, params.get("parse_mode"))
        except ParseError as err:
            raise ApiError(
                400, f"Bad Request: can't parse entities: {err}", violation=True
            ) from None
        except ValueError:
            raise ApiError(400, "Bad Request: unsupported parse_mode", violation=True) from None

    def _message_text(self, params: JsonDict) -> tuple[str, list[Any]]:
        if "text" not in params:
            raise ApiError(400, "Bad Request: message text is empty", violation=True)
        plain, entities = self._parse(params["text"], params, entities_key="entities")
        if not plain:
            raise ApiError(400, "Bad Request: message text is empty", violation=True)
        if len(plain) > MESSAGE_TEXT_MAX:
            raise ApiError(400, "Bad Request: message is too long", violation=True)
        return plain, entities

    def _caption(self, params: JsonDict) -> tuple[str | None, list[Any]]:
        if "caption" not in params:
            return None, []
        plain, entities = self._parse(params["caption"], params, entities_key="caption_entities")
        if len(plain) > CAPTION_MAX:
            raise ApiError(400, "Bad Request: message caption is too long", violation=True)
        return (plain or None), entities

    def _reply_to(self, chat: FakeChat, params: JsonDict) -> int | None:
        reply = params.get("reply_parameters")
        if reply is None:
            return None
        target_chat = reply.get("chat_id", chat.id)
        if target_chat != chat.id:
            raise ApiError(
                400,
                "Bad Request: replies to other chats are not supported by the fake",
                violation=True,
            )
        target = self.messages[chat.id].get(reply["message_id"])
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return target.message_id

    def _new_file_id(self, kind: str) -> tuple[str, str]:
        prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}.get(
            kind, "CAACAgIAAxkBAAI"
        )
        return prefix + secrets.token_urlsafe(24), "AgAD" + secrets.token_urlsafe(9)

    def _store_file(
        self,
        kind: str,
        content: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        file_id, unique_id = self._new_file_id(kind)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            content=content,
            size=len(content) if size is None else size,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[file_id] = stored
        return stored

    def _photo_sizes(self, content: bytes) -> list[JsonDict]:
        sizes = []
        for side, part in ((90, 16), (320, 4), (800, 1)):
            chunk = content if part == 1 else content[: max(1, len(content) // part)]
            sizes.append(
                self._store_file("photo", chunk, width=side, height=side).photo_size_json()
            )
        return sizes

    def _resolve_input_file(self, value: object, kind: str, param: str) -> StoredFile:
        """An InputFile parameter: new upload, or the file_id of a known file."""
        if isinstance(value, UploadedFile):
            if value.size == 0:
                raise ApiError(400, "Bad Request: file must be non-empty", violation=True)
            limit = PHOTO_UPLOAD_MAX_BYTES if kind == "photo" else UPLOAD_MAX_BYTES
            if value.size > limit:
                raise ApiError(413, "Request Entity Too Large", violation=True)
            if kind == "photo":
                if not value.content.startswith(IMAGE_MAGIC) and not (
                    value.content[:4] == b"RIFF" and value.content[8:12] == b"WEBP"
                ):
                    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED", violation=True)
                return self._store_file("photo", value.content, width=800, height=800)
            mime = value.content_type
            if value.filename:
                mime = mimetypes.guess_type(value.filename)[0] or mime
            return self._store_file(
                "document",
                value.content,
                file_name=value.filename,
                mime_type=mime or "application/octet-stream",
            )
        if not isinstance(value, str):
            raise ApiError(400, f"Bad Request: wrong {param} specified", violation=True)
        if value.startswith(("http://", "https://")):
            raise ApiError(
                400,
                "Bad Request: failed to get HTTP URL content (URL uploads are not supported by "
                "the fake)",
                violation=True,
            )
        stored = self.files.get(value)
        if stored is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise ApiError(
                400,
                f"Bad Request: can't use file of type {stored.kind.title()} as {kind.title()}",
                violation=True,
            )
        return stored

    def _attach_media(self, message: FakeMessage, stored: StoredFile) -> None:
        message.document = message.photo = None
        if stored.kind == "photo":
            message.photo = [stored.photo_size_json()]
        else:
            message.document = stored.document_json()

    # ================================================================== helpers: messages

    def _new_message(self, chat: FakeChat, *, from_id: int, from_bot: bool) -> FakeMessage:
        message = FakeMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=int(time.time()),
            from_id=from_id,
            from_bot=from_bot,
        )
        chat.next_message_id += 1
        self.messages[chat.id][message.message_id] = message
        return message

    def _bot_message(self, chat: FakeChat, params: JsonDict) -> FakeMessage:
        """Common part of every send* method (after all validation succeeded)."""
        reply_to = self._reply_to(chat, params)
        message = self._new_message(chat, from_id=self.bot.id, from_bot=True)
        message.reply_to_message_id = reply_to
        message.protect_content = bool(params.get("protect_content"))
        message.reply_markup = params.get("reply_markup")
        message.parse_mode = params.get("parse_mode")
        return message

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        extra: JsonDict,
        reply_to_message_id: int | None = None,
    ) -> JsonDict:
        user = self._user(user_id)
        chat = self.chats.get(user_id if chat_id is None else chat_id)
        if chat is None:
            msg = f"unknown chat {chat_id}; call fake.add_group() first"
            raise AssertionError(msg)
        if not chat.is_member(user_id):
            msg = f"user {user_id} is not a member of chat {chat.id}"
            raise AssertionError(msg)
        if chat.type == "private":
            user.started = True  # writing to the bot (pressing Start) starts it
            user.blocked = False
        message = self._new_message(chat, from_id=user_id, from_bot=False)
        if reply_to_message_id is not None:
            if reply_to_message_id not in self.messages[chat.id]:
                msg = f"no message {reply_to_message_id} in chat {chat.id} to reply to"
                raise AssertionError(msg)
            message.reply_to_message_id = reply_to_message_id
        message.text = extra.pop("text", None)
        message.caption = extra.pop("caption", None)
        message.entities = extra.pop("entities", [])
        message.document = extra.pop("document", None)
        message.photo = extra.pop("photo", None)
        message.media = extra
        body = {"message": self._message_json(message)}
        if self._hidden_by_privacy_mode(chat, message):
            return {"update_id": None, **body}
        return self.inject_update(body)

    def _hidden_by_privacy_mode(self, chat: FakeChat, message: FakeMessage) -> bool:
        """In groups a bot in privacy mode only sees commands and replies to itself."""
        if chat.type == "private" or not self.privacy_mode or self.bot.id in chat.admin_ids:
            return False
        if message.text and message.text.startswith("/"):
            return False
        if message.reply_to_message_id is not None:
            target = self.messages[chat.id].get(message.reply_to_message_id)
            return not (target and target.from_bot)
        return True

    def _message_json(self, message: FakeMessage, *, with_reply: bool = True) -> JsonDict:
        chat = self.chats[message.chat_id]
        sender = self.bot if message.from_bot else self.users[message.from_id]
        data: JsonDict = {
            "message_id": message.message_id,
            "from": sender.to_json(),
            "chat": chat.to_json(self.users),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.reply_to_message_id is not None and with_reply:
            target = self.messages[chat.id].get(message.reply_to_message_id)
            if target is not None:
                data["reply_to_message"] = self._message_json(target, with_reply=False)
        if message.media_group_id:
            data["media_group_id"] = message.media_group_id
        if message.protect_content:
            data["has_protected_content"] = True
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.document is not None:
            data["document"] = message.document
        if message.photo is not None:
            data["photo"] = message.photo
        data.update(message.media)
        if message.caption is not None:
            data["caption"] = message.caption
            if message.entities:
                data["caption_entities"] = message.entities
        if message.reply_markup and message.reply_markup.get("inline_keyboard"):
            data["reply_markup"] = message.reply_markup
        return data

    # ================================================================== methods: bot & updates

    async def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _log_out(self, params: JsonDict) -> bool:
        raise ApiError(
            400, "Bad Request: logOut/close are not supported by the fake", violation=True
        )

    def _allowed(self, entry: _QueuedUpdate) -> bool:
        allowed = self._allowed_updates
        if allowed:
            return entry.kind in allowed
        return entry.kind not in DEFAULT_EXCLUDED_UPDATES

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            keep = self._queue[offset:] if -offset < len(self._queue) else self._queue
            self._queue = list(keep)
            return
        self._queue = [
            q for q in self._queue if q.update_id >= offset or (q.forced and not q.delivered)
        ]

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"])
        self._confirm(params.get("offset"))
        dropped = [q for q in self._queue if not self._allowed(q)]
        if dropped:
            self._queue = [q for q in self._queue if self._allowed(q)]
        self._signal.notify()
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(int(params.get("timeout", 0)), 0)

        def ready() -> bool:
            superseded = generation != self._poll_generation
            return bool(self._queue) or superseded or self._closing

        self._polls_waiting += 1
        self._signal.notify()
        try:
            with contextlib.suppress(TimeoutError):
                await self._signal.wait_for(ready, timeout)
        finally:
            self._polls_waiting -= 1
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        batch = sorted((q for q in self._queue if self._allowed(q)), key=lambda q: q.update_id)[
            :limit
        ]
        for entry in batch:
            entry.delivered = True
            entry.forced = False
        return [entry.update for entry in batch]

    async def _set_webhook(self, params: JsonDict) -> bool:
        url = params["url"]
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._queue.clear()
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"])
        self._poll_generation += 1
        self._signal.notify()
        return True

    async def _delete_webhook(self, params: JsonDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._queue.clear()
            self._signal.notify()
        return True

    async def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook_url and self._allowed_updates is not None:
            info["allowed_updates"] = self._allowed_updates
        return info

    # ================================================================== methods: commands & menu

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    async def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params["commands"]
        if len(commands) > BOT_COMMANDS_MAX:
            raise ApiError(400, "Bad Request: too many commands", violation=True)
        for command in commands:
            name = command["command"]
            if not (
                1 <= len(name) <= 32
                and all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name)
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID", violation=True)
            if not 1 <= len(command["description"].strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID", violation=True)
        self.commands[self._commands_key(params)] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JsonDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: JsonDict) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat = self._chat(chat_id)
            if chat.type != "private":
                raise ApiError(400, "Bad Request: chat not found")
        self.menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: JsonDict) -> JsonDict:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._chat(chat_id)
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}

    # ================================================================== methods: sending

    async def _send_message(self, params: JsonDict) -> JsonDict:
        chat = self._writable_chat(params["chat_id"])
        text, entities = self._message_text(params)
        message = self._bot_message(chat, params)
        message.text, message.entities = text, entities
        message.source_text = params["text"]
        preview = params.get("link_preview_options") or {}
        message.link_preview_disabled = bool(preview.get("is_disabled"))
        return self._message_json(message)

    async def _send_document(self, params: JsonDict) -> JsonDict:
        chat = self._writable_chat(params["chat_id"])
        caption, entities = self._caption(params)
        stored = self._resolve_input_file(params["document"], "document", "document")
        message = self._bot_message(chat, params)
        message.document = stored.document_json()
        message.caption, message.entities = caption, entities
        message.source_text = params.get("caption")
        return self._message_json(message)

    async def _send_photo(self, params: JsonDict) -> JsonDict:
        chat = self._writable_chat(params["chat_id"])
        caption, entities = self._caption(params)
        stored = self._resolve_input_file(params["photo"], "photo", "photo")
        message = self._bot_message(chat, params)
        message.photo = [stored.photo_size_json()]
        message.caption, message.entities = caption, entities
        message.source_text = params.get("caption")
        return self._message_json(message)

    async def _send_media_group(self, params: JsonDict) -> list[JsonDict]:
        chat = self._writable_chat(params["chat_id"])
        media: list[JsonDict] = params["media"]
        if not MEDIA_GROUP_MIN <= len(media) <= MEDIA_GROUP_MAX:
            raise ApiError(400, "Bad Request: media group must include 2-10 items", violation=True)
        kinds = {item["type"] for item in media}
        for exclusive in ("document", "audio"):
            if exclusive in kinds and len(kinds) > 1:
                raise ApiError(
                    400,
                    f"Bad Request: {exclusive} can't be mixed with other media types",
                    violation=True,
                )
        if not kinds <= {"document", "photo"}:
            raise ApiError(
                400,
                f"Bad Request: media types {sorted(kinds)} not supported by the fake",
                violation=True,
            )
        prepared = []
        for item in media:
            caption, entities = self._caption(item)
            stored = self._resolve_input_file(item["media"], item["type"], "media")
            prepared.append((item, stored, caption, entities))
        group_id = str(13_000_000_000_000_000 + next(self._ids))
        results = []
        for item, stored, caption, entities in prepared:
            message = self._bot_message(chat, params)
            message.media_group_id = group_id
            self._attach_media(message, stored)
            message.caption, message.entities = caption, entities
            message.source_text = item.get("caption")
            results.append(self._message_json(message))
        return results

    # ================================================================== methods: editing

    def _check_modified(
        self, message: FakeMessage, content: tuple[object, ...], markup: JsonDict | None
    ) -> None:
        current = (message.text, message.caption, message.entities, message.document, message.photo)
        if content == current and _markup(markup) == _markup(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)

    def _finish_edit(self, message: FakeMessage, params: JsonDict) -> JsonDict:
        message.reply_markup = params.get("reply_markup")
        message.edits += 1
        message.edit_date = int(time.time())
        return self._message_json(message)

    async def _edit_message_text(self, params: JsonDict) -> JsonDict:
        message = self._target_message(params)
        if message.text is None:
            raise ApiError(
                400, "Bad Request: there is no text in the message to edit", violation=True
            )
        text, entities = self._message_text(params)
        self._check_modified(
            message,
            (text, None, entities, None, None),
            params.get("reply_markup"),
        )
        message.text, message.entities = text, entities
        message.source_text = params["text"]
        preview = params.get("link_preview_options") or {}
        message.link_preview_disabled = bool(preview.get("is_disabled"))
        return self._finish_edit(message, params)

    async def _edit_message_caption(self, params: JsonDict) -> JsonDict:
        message = self._target_message(params)
        if message.document is None and message.photo is None:
            raise ApiError(
                400, "Bad Request: there is no caption in the message to edit", violation=True
            )
        caption, entities = self._caption(params)
        self._check_modified(
            message,
            (None, caption, entities, message.document, message.photo),
            params.get("reply_markup"),
        )
        message.caption, message.entities = caption, entities
        message.source_text = params.get("caption")
        return self._finish_edit(message, params)

    async def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        message = self._target_message(params)
        current = (message.text, message.caption, message.entities, message.document, message.photo)
        self._check_modified(message, current, params.get("reply_markup"))
        return self._finish_edit(message, params)

    async def _edit_message_media(self, params: JsonDict) -> JsonDict:
        message = self._target_message(params)
        if message.document is None and message.photo is None:
            raise ApiError(
                400, "Bad Request: there is no media in the message to edit", violation=True
            )
        media = params["media"]
        if media["type"] not in {"document", "photo"}:
            raise ApiError(
                400,
                f"Bad Request: media type {media['type']} not supported by the fake",
                violation=True,
            )
        if message.media_group_id and message.document is not None and media["type"] != "document":
            raise ApiError(
                400, "Bad Request: document in an album can only be replaced by a document"
            )
        caption, entities = self._caption(media)
        stored = self._resolve_input_file(media["media"], media["type"], "media")
        probe = FakeMessage(chat_id=0, message_id=0, date=0, from_id=0, from_bot=True)
        self._attach_media(probe, stored)
        self._check_modified(
            message,
            (None, caption, entities, probe.document, probe.photo),
            params.get("reply_markup"),
        )
        message.document, message.photo = probe.document, probe.photo
        message.caption, message.entities = caption, entities
        message.source_text = media.get("caption")
        return self._finish_edit(message, params)

    # ================================================================== methods: deleting

    def _deletable(self, chat: FakeChat, message_id: int) -> FakeMessage | None:
        message = self.messages[chat.id].get(message_id)
        if message is None or message.deleted:
            return None
        return message

    def _mark_deleted(self, message: FakeMessage) -> None:
        message.deleted = True
        if not message.from_bot:
            self.deleted_user_messages[(message.chat_id, message.message_id)] = message

    def _may_delete(self, chat: FakeChat, message: FakeMessage) -> bool:
        return chat.type == "private" or message.from_bot or self.bot.id in chat.admin_ids

    async def _delete_message(self, params: JsonDict) -> bool:
        chat = self._chat(params["chat_id"])
        message = self._deletable(chat, params["message_id"])
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if not self._may_delete(chat, message):
            raise ApiError(400, "Bad Request: message can't be deleted")
        self._mark_deleted(message)
        return True

    async def _delete_messages(self, params: JsonDict) -> bool:
        chat = self._chat(params["chat_id"])
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise ApiError(
                400, "Bad Request: message_ids must contain 1-100 identifiers", violation=True
            )
        for message_id in ids:
            message = self._deletable(chat, message_id)
            if message is not None and self._may_delete(chat, message):
                self._mark_deleted(message)
        return True

    # ================================================================== methods: callbacks

    async def _leave_chat(self, params: JsonDict) -> bool:
        chat = self._chat(params["chat_id"])
        if chat.type == "private":
            raise ApiError(400, "Bad Request: chat not found")
        chat.bot_left = True
        return True

    async def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = params["callback_query_id"]
        query = self._callback_queries.get(query_id)
        too_old = (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
        if query_id in self._expired_queries:
            raise ApiError(400, too_old)
        if query is None or query["answered"]:
            raise ApiError(400, too_old, violation=True)
        if len(params.get("text", "")) > CALLBACK_ANSWER_TEXT_MAX:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG", violation=True)
        query["answered"] = True
        self.callback_answers[query_id] = dict(params)
        return True

    # ================================================================== methods: files & chats

    async def _get_file(self, params: JsonDict) -> JsonDict:
        stored = self.files.get(params["file_id"])
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > GET_FILE_MAX_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        if stored.file_path is None:
            suffix = Path(stored.file_name or "").suffix or {
                "photo": ".jpg",
                "voice": ".oga",
                "sticker": ".webp",
            }.get(stored.kind, "")
            stored.file_path = f"{stored.kind}s/file_{next(self._ids)}{suffix}"
            self._files_by_path[stored.file_path] = stored
        return stored.file_json()

    def _full_chat(self, chat: FakeChat) -> JsonDict:
        return {
            **chat.to_json(self.users),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _get_chat(self, params: JsonDict) -> JsonDict:
        return self._full_chat(self._chat(params["chat_id"]))

    def _member_json(self, chat: FakeChat, user_id: int) -> JsonDict:
        user = self.bot if user_id == self.bot.id else self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        user_json = user.to_json()
        if chat.type != "private" and user_id in chat.admin_ids:
            spec = self.spec.types["ChatMemberAdministrator"]
            member: JsonDict = {
                name: name.startswith("can_") and name != "can_be_edited"
                for name, field in spec.fields.items()
                if field.required and field.types == ("Boolean",)
            }
            return {**member, "status": "administrator", "user": user_json}
        if chat.is_member(user_id) or user_id == self.bot.id:
            return {"status": "member", "user": user_json}
        return {"status": "left", "user": user_json}

    async def _get_chat_member(self, params: JsonDict) -> JsonDict:
        chat = self._chat(params["chat_id"])
        return self._member_json(chat, params["user_id"])

    async def _get_chat_administrators(self, params: JsonDict) -> list[JsonDict]:
        chat = self._chat(params["chat_id"])
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        ids = [i for i in chat.admin_ids if i != self.bot.id or params.get("return_bots")]
        return [self._member_json(chat, i) for i in ids]

    async def _send_chat_action(self, params: JsonDict) -> bool:
        self._writable_chat(params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request", violation=True)
        self.chat_actions.append((params["chat_id"], params["action"]))
        return True


# ====================================================================== request decoding


def _markup(markup: JsonDict | None) -> JsonDict | None:
    """Normalise a reply_markup for "not modified" comparison (empty keyboard == none)."""
    if not markup or not markup.get("inline_keyboard"):
        return None
    return markup


def _json_response(body: JsonDict, status: int) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status_code=status, media_type="application/json"
    )


def _add(target: dict[str, Any], key: str, value: object) -> None:
    if key in target:
        raise ApiError(400, f'Bad Request: parameter "{key}" is specified twice', violation=True)
    target[key] = value


async def _read_params(request: Request) -> tuple[dict[str, object], dict[str, UploadedFile]]:
    """Decode query string plus a form, multipart or JSON body into raw values and files."""
    raw: dict[str, object] = {}
    files: dict[str, UploadedFile] = {}
    for key, value in request.query_params.multi_items():
        _add(raw, key, value)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return raw, files
    if mime == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body", violation=True) from None
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object", violation=True)
        for key, value in data.items():
            _add(raw, key, value)
    elif mime == "application/x-www-form-urlencoded":
        for key, value in parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=True
        ):
            _add(raw, key, value)
    elif mime == "multipart/form-data":
        for part in _parse_multipart(content_type, body):
            if part.filename is not None:
                _add(files, part.field, part)
            else:
                _add(raw, part.field, part.content.decode("utf-8"))
    else:
        raise ApiError(400, f"Bad Request: unsupported content type {mime!r}", violation=True)
    return raw, files


def _parse_multipart(content_type: str, body: bytes) -> list[UploadedFile]:
    """Split a multipart/form-data body into parts (byte-exact)."""
    header = EmailMessage()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ApiError(400, "Bad Request: multipart boundary is missing", violation=True)
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    parts: list[UploadedFile] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ApiError(400, "Bad Request: malformed multipart body", violation=True)
        data = data.removesuffix(b"\r\n")
        headers = HeaderParser().parsestr(head.decode("utf-8"))
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if not isinstance(name, str):
            raise ApiError(400, "Bad Request: multipart part without a name", violation=True)
        parts.append(
            UploadedFile(
                field=name,
                filename=filename,
                content_type=headers.get_content_type() if "content-type" in headers else None,
                content=data,
            )
        )
    return parts
