"""WhatsApp's webhook through the real route on the real pipeline: only Meta's signature gets
in, a body is split into one inbox row per message and status and stored before the 200,
a redelivery stores nothing new, and a WhatsApp user's message reaches the router and is
answered on channel "whatsapp". The admins stay on the fake Bot API's Telegram group."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette

from chatbot.channels.whatsapp import WhatsAppChannel, split_body
from chatbot.db.models import InboxUpdate, OutboxMessage
from chatbot.settings import Settings
from chatbot.web.whatsapp_webhook import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    WHATSAPP_WEBHOOK_PATH,
    whatsapp_webhook_route,
)
from tests import whatsapp_payloads as wa
from tests.e2e.harness import Harness, bot_settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.channel import FakeMessenger

APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-token_for-the-handshake"
BUDI = "6281234567001"
RINA = "6281234567002"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    from tests.e2e.harness import TOKEN, populate

    async with FakeBotApi(token=TOKEN, bot_username="spse_reset_bot") as fake:
        populate(fake)
        yield fake
        fake.assert_no_violations()


class WhatsAppBot:
    """Telegram for the admins and WhatsApp's webhook for requesters, on one pipeline; the
    WhatsApp messenger only records what it was asked to send (sending comes later)."""

    def __init__(self, harness: Harness, channel: WhatsAppChannel, chats: FakeMessenger) -> None:
        self.harness = harness
        self.channel = channel
        self.chats = chats
        web = Starlette(
            routes=[
                whatsapp_webhook_route(
                    channel.receive, split_body, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN
                )
            ]
        )
        self.web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="https://bot.test"
        )

    async def post(self, data: dict[str, Any] | bytes, signature: str | None = "good") -> int:
        """POST a body as Meta does (signed, unless told otherwise); the status code."""
        raw = data if isinstance(data, bytes) else wa.encoded(data)
        headers = {"content-type": "application/json"}
        if signature == "good":
            headers[SIGNATURE_HEADER] = wa.sign(APP_SECRET, raw)
        elif signature is not None:
            headers[SIGNATURE_HEADER] = signature
        response = await self.web.post(WHATSAPP_WEBHOOK_PATH, content=raw, headers=headers)
        return response.status_code

    async def rows(self) -> list[InboxUpdate]:
        async with self.harness.app.sessions() as session:
            result = await session.execute(
                select(InboxUpdate)
                .where(InboxUpdate.channel == "whatsapp")
                .order_by(InboxUpdate.id)
            )
            return list(result.scalars())

    async def replies(self) -> list[OutboxMessage]:
        async with self.harness.app.sessions() as session:
            result = await session.execute(
                select(OutboxMessage).where(OutboxMessage.channel == "whatsapp")
            )
            return list(result.scalars())


@pytest.fixture
async def bot(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[WhatsAppBot]:
    channel, chats = WhatsAppChannel(wa.PHONE_NUMBER_ID), FakeMessenger()
    harness = Harness(fake, bot_settings(settings, fake), requesters=[(channel, chats)])
    await harness.start()
    channel.connect(harness.pipeline.ingress.receive)
    bot = WhatsAppBot(harness, channel, chats)
    yield bot
    await bot.web.aclose()
    await harness.stop()


def said(id_: str, sender: str, text: str, name: str = "Budi") -> dict[str, Any]:
    return wa.body(wa.value([wa.text(id_, sender, text)], contacts=[wa.contact(sender, name)]))


# ---- through the pipeline ------------------------------------------------------------------


async def test_a_whatsapp_users_start_reaches_the_router_and_is_answered_on_whatsapp(
    bot: WhatsAppBot,
) -> None:
    assert await bot.post(said(wa.wamid(1), BUDI, "/start")) == 200
    await bot.harness.settle()
    rows = await bot.rows()
    assert [(r.update_id, r.chat_key, r.kind, r.outcome) for r in rows] == [
        (wa.wamid(1), f"whatsapp:{BUDI}", "text", "handled")
    ]
    replies = await bot.replies()
    assert len(replies) == 1 and replies[0].chat_id == BUDI and replies[0].sent_at is not None
    menu = bot.chats.last(BUDI)
    assert "Pilih menu" in menu.text and "Ajukan permohonan" in " ".join(menu.buttons)
    assert bot.harness.fake.chat_messages(int(BUDI)) == []  # nothing on Telegram


async def test_halo_gets_the_menu(bot: WhatsAppBot) -> None:
    assert await bot.post(said(wa.wamid(1), BUDI, "halo")) == 200
    await bot.harness.settle()
    assert "Ajukan permohonan" in " ".join(bot.chats.last(BUDI).buttons)


async def test_a_batched_body_is_stored_as_one_row_each_and_handled(bot: WhatsAppBot) -> None:
    body = wa.body(
        wa.value(
            [wa.text(wa.wamid(1), BUDI, "/start"), wa.text(wa.wamid(2), RINA, "halo")],
            contacts=[wa.contact(BUDI, "Budi"), wa.contact(RINA, "Rina")],
        ),
        wa.value(statuses=[wa.status(wa.wamid(3), "delivered", BUDI)]),
    )
    assert await bot.post(body) == 200
    await bot.harness.settle()
    rows = await bot.rows()
    assert [(r.update_id, r.outcome) for r in rows] == [
        (wa.wamid(1), "handled"),
        (wa.wamid(2), "handled"),
        (f"{wa.wamid(3)}:delivered", "ignored"),
    ]
    assert {r.chat_id for r in await bot.replies()} == {BUDI, RINA}
    assert "Pilih menu" in bot.chats.last(BUDI).text
    assert "Ajukan permohonan" in " ".join(bot.chats.last(RINA).buttons)


async def test_a_redelivered_body_is_stored_and_answered_once(bot: WhatsAppBot) -> None:
    body = said(wa.wamid(1), BUDI, "/start")
    for _ in range(3):  # Meta retries a body whose 200 it did not see
        assert await bot.post(body) == 200
    await bot.harness.settle()
    assert await bot.post(body) == 200  # even after it was handled
    await bot.harness.settle()
    assert len(await bot.rows()) == 1
    assert len(await bot.replies()) == 1
    assert len(bot.chats.shown(BUDI)) == 1


async def test_real_length_wamids_and_their_status_keys_are_stored(bot: WhatsAppBot) -> None:
    """A documented wamid (62 characters; 78 seen in 2026) and its status key fit the inbox
    since migration 0009."""
    long_wamid = "wamid." + "H" * 72  # 78 characters
    body = wa.body(
        wa.value([wa.text(long_wamid, BUDI, "/start")], contacts=[wa.contact(BUDI, "Budi")]),
        wa.value(statuses=[wa.status(wa.DOC_WAMID, "delivered", BUDI)]),
    )
    assert await bot.post(body) == 200
    await bot.harness.settle()
    assert [r.update_id for r in await bot.rows()] == [long_wamid, f"{wa.DOC_WAMID}:delivered"]


async def test_a_body_with_one_unstorable_status_stores_the_rest(bot: WhatsAppBot) -> None:
    """A key longer than the inbox holds is logged and skipped, not refused: a 400 would have
    Meta retry the whole body for days."""
    body = wa.body(
        wa.value([wa.text(wa.wamid(1), BUDI, "/start")], contacts=[wa.contact(BUDI, "Budi")]),
        wa.value(statuses=[wa.status("wamid." + "X" * 200, "delivered", BUDI)]),
    )
    assert await bot.post(body) == 200
    await bot.harness.settle()
    assert [r.update_id for r in await bot.rows()] == [wa.wamid(1)]


# ---- refused at the door -------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        wa.sign("another-apps-secret-0123456789ab", wa.encoded(said(wa.wamid(1), BUDI, "/start"))),
    ],
    ids=["missing", "empty", "zeros", "sha1", "other-secret"],
)
async def test_a_forged_or_missing_signature_is_refused_and_stores_nothing(
    bot: WhatsAppBot, signature: str | None
) -> None:
    assert await bot.post(said(wa.wamid(1), BUDI, "/start"), signature=signature) == 403
    await bot.harness.settle()
    assert await bot.rows() == []
    assert bot.chats.shown(BUDI) == []


async def test_a_signature_of_another_body_is_refused(bot: WhatsAppBot) -> None:
    signed = wa.sign(APP_SECRET, wa.encoded(said(wa.wamid(1), BUDI, "halo")))
    assert await bot.post(said(wa.wamid(1), BUDI, "/start"), signature=signed) == 403
    assert await bot.rows() == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"",
        b"[1, 2]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        wa.encoded(wa.body(wa.value([{"from": BUDI, "type": "text"}]))),
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 200 + b"]" * 200 + b"}",
    ],
    ids=["not-json", "not-utf8", "empty", "list", "other-object", "no-entry", "no-id", "deep"],
)
async def test_a_malformed_body_is_refused_with_400_and_stores_nothing(
    bot: WhatsAppBot, body: bytes
) -> None:
    assert await bot.post(body) == 400
    assert await bot.rows() == []


async def test_an_oversized_body_is_refused_with_413_declared_or_streamed(
    bot: WhatsAppBot,
) -> None:
    big = b'{"object": "whatsapp_business_account", "x": "' + b"a" * MAX_BODY_BYTES + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    headers = {SIGNATURE_HEADER: wa.sign(APP_SECRET, big)}
    declared = await bot.web.post(WHATSAPP_WEBHOOK_PATH, content=big, headers=headers)
    streamed = await bot.web.post(WHATSAPP_WEBHOOK_PATH, content=chunks(), headers=headers)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert await bot.rows() == []


async def test_a_body_of_other_fields_is_accepted_and_stores_nothing(bot: WhatsAppBot) -> None:
    update = wa.body({"event": "APPROVED"}, field="message_template_status_update")
    assert await bot.post(update) == 200
    assert await bot.rows() == []


# ---- storage down, handshake: the route alone ----------------------------------------------


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
    route = whatsapp_webhook_route(
        recorder, split_body, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN
    )
    app = Starlette(routes=[route])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bot.test")


async def test_storage_down_is_503_so_meta_delivers_again() -> None:
    recorder = Recorder(fail=OperationalError("INSERT", {}, ConnectionRefusedError()))
    raw = wa.encoded(said(wa.wamid(1), BUDI, "/start"))
    async with _client(recorder) as client:
        response = await client.post(
            WHATSAPP_WEBHOOK_PATH, content=raw, headers={SIGNATURE_HEADER: wa.sign(APP_SECRET, raw)}
        )
    assert response.status_code == 503


async def test_the_route_hands_every_update_of_a_body_at_once() -> None:
    recorder = Recorder()
    body = wa.body(
        wa.value([wa.text(wa.wamid(1), BUDI, "a")], contacts=[wa.contact(BUDI, "B")]),
        wa.value(statuses=[wa.status(wa.wamid(2), "read", BUDI)]),
    )
    raw = wa.encoded(body)
    async with _client(recorder) as client:
        response = await client.post(
            WHATSAPP_WEBHOOK_PATH, content=raw, headers={SIGNATURE_HEADER: wa.sign(APP_SECRET, raw)}
        )
    assert response.status_code == 200
    assert [r["id"] for r in recorder.received] == [wa.wamid(1), f"{wa.wamid(2)}:read"]


async def test_the_handshake_echoes_the_challenge_with_the_right_token() -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with _client(Recorder()) as client:
        response = await client.get(WHATSAPP_WEBHOOK_PATH, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "wrong-token-of-good-shape",
            "hub.challenge": "1",
        },
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ],
    ids=["wrong", "prefix", "mode", "no-mode", "no-token", "nothing"],
)
async def test_a_handshake_without_the_right_token_is_403(params: dict[str, str]) -> None:
    async with _client(Recorder()) as client:
        response = await client.get(WHATSAPP_WEBHOOK_PATH, params=params)
    assert response.status_code == 403
    assert response.text != "1"


async def test_a_handshake_echoes_only_a_plain_challenge() -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "<b>x</b>",
    }
    async with _client(Recorder()) as client:
        response = await client.get(WHATSAPP_WEBHOOK_PATH, params=params)
    assert response.status_code == 400
