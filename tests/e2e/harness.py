"""End-to-end harness: our real App, inbox worker and polling against the strict fake Bot API.

`settle()` waits until every injected update was confirmed (the offset moved past it, so it
is in the inbox), the worker found nothing left to handle, and the outbox sender is idle;
tests never sleep.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from chatbot.app import App, TelegramBot, create_app, telegram_bot
from chatbot.channels.pacing import PaceLimits
from chatbot.channels.telegram import TelegramChannel
from chatbot.conversations.messages import Messenger
from chatbot.db.models import utcnow
from chatbot.pipeline import ChannelAdapter, Pipeline
from chatbot.services.credentials import Sealed, key_hash, open_sealed, unb64url
from chatbot.services.ratelimit import Limit
from chatbot.settings import Settings
from chatbot.web.app import create_web_app
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_models import FakeMessage

TOKEN = "424242:TEST-token-for-the-fake"
REQUESTER = 1001
OTHER_REQUESTER = 1002
ADMIN = 9001
ADMIN_2 = 9002
STRANGER = 7777
GROUP = -1001234567890
NIP = "198503122010011004"
UNPACED = PaceLimits(*(Limit(10_000, timedelta(seconds=1)) for _ in range(3)))
Requesters = Sequence[tuple[ChannelAdapter, Messenger]]
LINK = re.compile(r"(https://\S+/s/([A-Za-z0-9_-]+))#([A-Za-z0-9_-]+)")


def populate(fake: FakeBotApi) -> None:
    fake.add_user(REQUESTER, "Budi", last_name="Santoso", username="budi_ppk")
    fake.add_user(OTHER_REQUESTER, "Rina")
    fake.add_user(ADMIN, "Sari", username="sari_admin")
    fake.add_user(ADMIN_2, "Joko")
    fake.add_user(STRANGER, "Orang", username="iseng")
    fake.add_group(GROUP, "Admin Agency SPSE", admin_ids=[ADMIN, ADMIN_2], member_ids=[STRANGER])


def bot_settings(settings: Settings, fake: FakeBotApi, **changes: Any) -> Settings:
    values = {
        "telegram_bot_token": TOKEN,
        "telegram_admin_chat_id": GROUP,
        "telegram_api_url": fake.base_url,
        "telegram_file_url": fake.file_url,
        **changes,
    }
    return settings.model_copy(
        update={
            k: (
                v
                if k != "telegram_bot_token"
                else type(settings.telegram_webhook_secret or _secret(""))(v)
            )
            for k, v in values.items()
        }
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@dataclass
class Harness:
    fake: FakeBotApi
    settings: Settings
    # Telegram's pace would make a scripted user wait seconds between steps; the pacing
    # tests use the real limits.
    limits: PaceLimits = UNPACED
    clock: Callable[[], datetime] = utcnow  # the pace's clock
    # Other channels' requesters on the same pipeline (adapter, messenger): tests/fakes/channel.py;
    # or a function of the app building them, as production composes WhatsApp's
    requesters: Requesters | Callable[[App], Requesters] = ()
    app: App = field(init=False)
    bot: TelegramBot = field(init=False)
    web: httpx.AsyncClient = field(init=False)
    web_app: Starlette = field(init=False)  # for a live server (browser tests)
    _stop: asyncio.Event = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(init=False)

    @property
    def channel(self) -> TelegramChannel:
        return self.bot.channel

    @property
    def pipeline(self) -> Pipeline:
        return self.bot.pipeline

    async def start(self) -> None:
        self.app = await create_app(self.settings)
        requesters = self.requesters(self.app) if callable(self.requesters) else self.requesters
        self.bot = telegram_bot(
            self.app, limits=self.limits, clock=self.clock, requesters=requesters
        )
        await self.bot.start()
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self.channel.poll(self._stop)),
            asyncio.create_task(self.pipeline.worker.run(self._stop)),
        ]
        self.web_app = web = create_web_app(
            self.app.services,
            messengers=self.pipeline.messengers,
            readiness=self.app.ready,
            public_url=self.settings.public_url,
            bot_token=TOKEN,
            require_webapp=self.settings.webapp_binding,
        )
        self.web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url=self.settings.public_url
        )
        await self.fake.wait_for_polling()

    async def stop(self) -> None:
        await self.web.aclose()
        self._stop.set()
        self._tasks[0].cancel()  # the long poll: what it fetched and did not store comes again
        _done, pending = await asyncio.wait(self._tasks, timeout=15)
        for task in pending:  # a handler a failed test left blocked: do not hang the run
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bot.stop()
        await self.app.close()

    async def restart(self) -> None:
        """A new process: nothing survives but the database, the store and the files."""
        await self.stop()
        await self.start()

    async def settle(self) -> None:
        await self.fake.wait_for_updates_consumed()
        async with asyncio.timeout(10):
            await self.pipeline.worker.settled()
            await self.pipeline.sender.idle()

    # ---- acting as people ----------------------------------------------------------------

    async def say(
        self, user: int, text: str, chat: int | None = None, reply_to: int | None = None
    ) -> FakeMessage:
        self.fake.send_text(user, text, chat_id=chat, reply_to_message_id=reply_to)
        await self.settle()
        return self.last(chat if chat is not None else user)

    async def press(
        self, user: int, label: str, chat: int | None = None, message: FakeMessage | None = None
    ) -> dict[str, Any]:
        """Tap the button labelled `label` on the newest message that has it."""
        chat = chat if chat is not None else user
        message = message or self.with_button(chat, label)
        update = self.fake.press_button(user, message, message.button(label))
        await self.settle()
        query_id = update["callback_query"]["id"]
        return self.fake.callback_answers[query_id]

    async def upload_pdf(self, user: int, label: str = "Surat") -> FakeMessage:
        self.fake.send_document(user, pdf_bytes(label), "surat.pdf", "application/pdf")
        await self.settle()
        return self.last(user)

    async def upload_photo(self, user: int, shade: int = 90) -> FakeMessage:
        self.fake.send_photo(user, png_bytes(shade))
        await self.settle()
        return self.last(user)

    # ---- looking ---------------------------------------------------------------------------

    def last(self, chat: int) -> FakeMessage:
        return self.fake.last_message(chat)

    def texts(self, chat: int) -> list[str]:
        return [m.content for m in self.fake.chat_messages(chat) if not m.deleted]

    def with_button(self, chat: int, label: str) -> FakeMessage:
        for message in reversed(self.fake.chat_messages(chat)):
            if message.deleted:
                continue
            if any(label == b or label in b for b in message.buttons()):
                return message
        raise AssertionError(f"no message in {chat} has a button {label!r}: {self.texts(chat)}")

    def card(self) -> FakeMessage:
        """The newest ticket card in the admin group."""
        for message in reversed(self.fake.chat_messages(GROUP)):
            if message.content.startswith("🎫 Tiket"):
                return message
        raise AssertionError(f"no ticket card in the group: {self.texts(GROUP)}")

    # ---- whole steps -------------------------------------------------------------------------

    async def submit_request(self, user: int = REQUESTER, kind: str = "Reset password") -> str:
        """Walk the intake dialog with good answers and return the ticket number."""
        await self.say(user, "/start")
        await self.press(user, "Ajukan permohonan")
        await self.press(user, kind)
        await self.press(user, "PPK")
        await self.say(user, "Budi Santoso")
        await self.say(user, "1985 0312 2010 01 1 004")
        await self.say(user, "Dinas Pekerjaan Umum")
        await self.press(user, "Lewati")
        await self.say(user, "budi@magelangkota.go.id")
        self.fake.send_contact(user, "+62 812-3456-7890", contact_user_id=user)
        await self.settle()
        await self.upload_pdf(user)
        await self.press(user, "Selesai")
        await self.upload_photo(user, 10)
        await self.upload_photo(user, 20)
        await self.press(user, "Selesai")
        await self.press(user, "Kirim permohonan")
        match = re.search(r"nomor tiket (\d{4}-\d{4,})", self.last(user).content)
        assert match, self.last(user).content
        return match.group(1)

    async def approve_to_valid(self, admin: int = ADMIN) -> None:
        await self.press(admin, "Lengkap", chat=GROUP, message=self.card())
        await self.press(admin, "Valid", chat=GROUP, message=self.card())

    def link_in(self, chat: int) -> tuple[str, str, str]:
        """The (url, link id, key) of the newest one-time link sent to a chat."""
        for message in reversed(self.fake.chat_messages(chat)):
            match = LINK.search(message.content)
            if match:
                return match.group(1), match.group(2), match.group(3)
        raise AssertionError(f"no one-time link in chat {chat}: {self.texts(chat)}")

    async def reveal(self, link_id: str, key: str) -> httpx.Response:
        """Press Tampilkan as the page's script does; deliver the receipt it causes."""
        response = await self.web.post(
            f"/s/{link_id}/reveal", json={"key_hash": key_hash(unb64url(key))}
        )
        await self.pipeline.sender.flush()
        return response

    @staticmethod
    def decrypt(response: httpx.Response, key: str) -> dict[str, str]:
        return open_sealed(Sealed(**response.json()), unb64url(key))
