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

from chatbot.app import create_app
from chatbot.channels.telegram import TelegramChannel
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
    channel = TelegramChannel(app, limits=UNPACED)
    await channel.start()
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
            worker = asyncio.create_task(channel.worker.run(stop))
            await asyncio.wait_for(channel.worker.settled(), timeout=10)
            stop.set()
            await worker
            await channel.sender.idle()
        texts = [m.content for m in fake.chat_messages(REQUESTER)]
        assert len(texts) == 1 and "Pilih menu" in texts[0]
        outcomes = await channel.inbox.outcomes("telegram", [str(update["update_id"])])
        assert outcomes == {str(update["update_id"]): "handled"}
    finally:
        await channel.stop()
        await app.close()
