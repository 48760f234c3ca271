"""The webhook: only Telegram (the secret) gets in, bad bodies are refused, and 200 means the
update is in the inbox (then handled once, however often Telegram delivers it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from telegram import Update

from chatbot.app import TelegramBot, create_app, telegram_bot
from chatbot.settings import Settings
from chatbot.web.webhook import MAX_UPDATE_BYTES, SECRET_HEADER, WEBHOOK_PATH, webhook_route
from tests.e2e.harness import REQUESTER, UNPACED, bot_settings
from tests.fakes.bot_api import FakeBotApi

SECRET = "s3cret-token_for-the-webhook"
UPDATE = {
    "update_id": 5,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
}


class Recorder:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail = fail

    async def __call__(self, updates: Sequence[dict[str, Any]]) -> int:
        if self.fail is not None:
            raise self.fail
        self.received += updates
        return len(updates)


def _client(recorder: Recorder) -> httpx.AsyncClient:
    app = Starlette(routes=[webhook_route(recorder, SECRET)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bot.test")


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-of-good-shape", SECRET[:-1]])
async def test_a_call_without_the_secret_is_refused_and_stores_nothing(secret: str | None) -> None:
    recorder = Recorder()
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with _client(recorder) as client:
        response = await client.post(WEBHOOK_PATH, json=UPDATE, headers=headers)
    assert response.status_code == 403
    assert recorder.received == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"message": {}}',
        b'{"update_id": "5"}',
        b'{"update_id": true}',
        b"",
    ],
)
async def test_a_malformed_body_is_refused_with_400(body: bytes) -> None:
    recorder = Recorder()
    async with _client(recorder) as client:
        response = await client.post(
            WEBHOOK_PATH,
            content=body,
            headers={SECRET_HEADER: SECRET, "content-type": "application/json"},
        )
    assert response.status_code == 400
    assert recorder.received == []


@pytest.mark.parametrize("depth", [100_000, 200])
async def test_json_nested_too_deep_is_refused_with_400(depth: int) -> None:
    recorder = Recorder()
    body = b'{"update_id": 5, "x": ' + b"[" * depth + b"]" * depth + b"}"
    async with _client(recorder) as client:
        response = await client.post(
            WEBHOOK_PATH,
            content=body,
            headers={SECRET_HEADER: SECRET, "content-type": "application/json"},
        )
    assert response.status_code == 400
    assert recorder.received == []


async def test_an_oversized_body_is_refused_with_413_declared_or_streamed() -> None:
    recorder = Recorder()
    big = b'{"update_id": 1, "x": "' + b"a" * MAX_UPDATE_BYTES + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with _client(recorder) as client:
        declared = await client.post(WEBHOOK_PATH, content=big, headers={SECRET_HEADER: SECRET})
        streamed = await client.post(
            WEBHOOK_PATH, content=chunks(), headers={SECRET_HEADER: SECRET}
        )
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert recorder.received == []


async def test_an_update_that_cannot_be_stored_is_not_acknowledged() -> None:
    recorder = Recorder(fail=OperationalError("INSERT", {}, ConnectionRefusedError()))
    async with _client(recorder) as client:
        response = await client.post(WEBHOOK_PATH, json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 503  # Telegram delivers it again later


async def test_a_good_update_is_accepted() -> None:
    recorder = Recorder()
    async with _client(recorder) as client:
        response = await client.post(WEBHOOK_PATH, json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert recorder.received == [UPDATE]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    from tests.e2e.harness import TOKEN, populate

    async with FakeBotApi(token=TOKEN, bot_username="spse_reset_bot") as fake:
        populate(fake)
        yield fake
        fake.assert_no_violations()


async def test_through_the_webhook_an_update_is_handled_once_however_often_it_comes(
    fake: FakeBotApi, settings: Settings, engine: object
) -> None:
    app = await create_app(bot_settings(settings, fake))
    bot = telegram_bot(app, limits=UNPACED)
    channel, pipeline = bot.channel, bot.pipeline
    await bot.start()
    web = Starlette(routes=[webhook_route(channel.receive, SECRET)])
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="https://bot.test"
        ) as client:
            update = fake.send_text(REQUESTER, "/start")
            for _ in range(3):  # Telegram retries when it did not see our 200 in time
                response = await client.post(
                    WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}
                )
                assert response.status_code == 200
            stop = asyncio.Event()
            worker = asyncio.create_task(pipeline.worker.run(stop))
            await asyncio.wait_for(pipeline.worker.settled(), timeout=10)
            stop.set()
            await worker
            await pipeline.sender.idle()
        texts = [m.content for m in fake.chat_messages(REQUESTER)]
        assert len(texts) == 1 and "Pilih menu" in texts[0]
        outcomes = await pipeline.inbox.outcomes("telegram", [str(update["update_id"])])
        assert outcomes == {str(update["update_id"]): "handled"}
    finally:
        await bot.stop()
        await app.close()


@pytest.fixture
async def bot(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[TelegramBot]:
    app = await create_app(bot_settings(settings, fake))
    bot = telegram_bot(app, limits=UNPACED)
    await bot.start()
    yield bot
    await bot.stop()
    await app.close()


def _webhook(bot: TelegramBot) -> httpx.AsyncClient:
    web = Starlette(routes=[webhook_route(bot.channel.receive, SECRET)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="https://bot.test")


def _message(update_id: int, chat_id: object = 1, from_id: object = 1) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat_id, "type": "private", "first_name": "A"},
            "from": {"id": from_id, "is_bot": False, "first_name": "A"},
            "text": "halo",
        },
    }


def _tap(update_id: int, chat_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "q1",
            "chat_instance": "c",
            "from": {"id": 1, "is_bot": False, "first_name": "A"},
            "message": {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"}},
            "data": "x",
        },
    }


INT64_MAX = 2**63 - 1


@pytest.mark.parametrize(
    "update",
    [
        _message(INT64_MAX + 1),
        _message(-(2**63) - 1),
        _message(10**70),  # longer than the update_id column: PostgreSQL refused it for ever
        _message(7, chat_id=10**80),  # longer than the chat key column
        _message(7, chat_id=INT64_MAX + 1),
        _message(7, chat_id="1"),
        _message(7, from_id=10**30),
        _tap(7, chat_id=-(2**64)),
        {"update_id": 7, "message": "text"},
    ],
    ids=[
        "update_id-2^63",
        "update_id-below",
        "update_id-71-digits",
        "chat-81-digits",
        "chat-2^63",
        "chat-string",
        "from-31-digits",
        "tap-chat",
        "message-not-object",
    ],
)
async def test_an_update_the_inbox_cannot_hold_is_refused_with_400_and_not_stored(
    bot: TelegramBot, update: dict[str, Any]
) -> None:
    async with _webhook(bot) as client:
        response = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400  # not 503: Telegram would deliver it again for ever
    assert await bot.pipeline.inbox.pending_count() == 0


async def test_ids_at_the_64_bit_limits_are_stored(bot: TelegramBot) -> None:
    updates = [_message(INT64_MAX, chat_id=-(2**63), from_id=INT64_MAX), _tap(-(2**63), INT64_MAX)]
    async with _webhook(bot) as client:
        for update in updates:
            response = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
    assert sorted(await bot.pipeline.inbox.waiting_chats()) == sorted(
        [f"telegram:{-(2**63)}", f"telegram:{INT64_MAX}"]
    )


async def test_an_update_without_a_chat_holds_up_no_other(
    bot: TelegramBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chat-less updates (a poll answer, an inline query) each run in a lane of their own."""
    release, second = asyncio.Event(), asyncio.Event()
    channel, pipeline = bot.channel, bot.pipeline
    process = channel._process

    async def slow(update: Update) -> Any:
        if update.update_id == 21:
            await release.wait()  # e.g. a retry after a failure
        else:
            second.set()
        return await process(update)

    monkeypatch.setattr(channel, "_process", slow)
    user = {"id": 1, "is_bot": False, "first_name": "A"}
    chatless = [
        {
            "update_id": 21,
            "poll_answer": {
                "poll_id": "p",
                "user": user,
                "option_ids": [0],
                "option_persistent_ids": ["a"],
            },
        },
        {"update_id": 22, "inline_query": {"id": "i", "from": user, "query": "", "offset": ""}},
    ]
    async with _webhook(bot) as client:
        for update in chatless:
            response = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
    stop = asyncio.Event()
    worker = asyncio.create_task(pipeline.worker.run(stop))
    try:
        await asyncio.wait_for(second.wait(), timeout=10)
    finally:
        release.set()
        await asyncio.wait_for(pipeline.worker.settled(), timeout=10)
        stop.set()
        await worker
    assert await pipeline.inbox.outcomes("telegram", ["21", "22"]) == {
        "21": "ignored",
        "22": "ignored",
    }
