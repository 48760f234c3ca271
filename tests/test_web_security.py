"""The web pages under abuse: preview-bot storms, guessing and its rate limits, the security
headers on every answer, the Telegram Web App binding, and the admin's hand-over form over
HTTP (SOP steps 6 to 8)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from chatbot.conversations.context import Services
from chatbot.db.models import AuditEvent, utcnow
from chatbot.services.credentials import CredentialVault, key_hash, link_hash, unb64url
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import TicketState
from chatbot.services.ratelimit import RateLimiter
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.store import Store
from chatbot.web import app as web_app_module
from chatbot.web.app import SECURITY_HEADERS, create_web_app
from chatbot.web.guards import CLIENT_LIMIT, PAGE_LIMIT, TARGET_LIMIT
from tests import test_web_links as web_links
from tests.e2e import conftest as e2e
from tests.e2e.harness import (
    ADMIN,
    ADMIN_2,
    GROUP,
    LINK,
    REQUESTER,
    STRANGER,
    TOKEN,
    Harness,
    bot_settings,
)
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_models import FakeMessage
from tests.fakes.webapp import sign_init_data
from tests.test_web_links import (
    ORIGIN,
    PASSWORD,
    USER_ID,
    Link,
    delivered,
    open_response,
    post_reveal,
)

# Shared fixtures: the plain web client on the unit services, the fake Bot API and the
# running harness (binding off).
client = web_links.client
fake = e2e.fake
bot = e2e.bot

# Fetchers that count as a view. WhatsApp's own (`WhatsApp/...`, `facebookexternalhit`) are
# not counted at all since issue 12: tests/test_web_links_channels.py.
PREVIEW_AGENTS = (
    "TelegramBot (like TwitterBot)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Barracuda Sentinel (EE); +https://barracuda.com/) LinkScanner",
)
EVIL_ORIGIN = "https://evil.example.com"
UNKNOWN_ID = "A" * 22  # the shape of a link id or form token, but never issued
TOO_MANY = "Terlalu banyak percobaan. Tunggu {seconds} detik lalu coba lagi."
TYPED_SECRET = "Rahasia2026x"
FORM_SECRET = "Formulir#2026aman"


# ---- helpers -----------------------------------------------------------------------------


class FrozenClock:
    """The rate limiter's clock, held 15 s into a 15-minute window (so also 15 s into a
    minute): the per-client window (1 min) then has 45 s left, the per-link one 885 s. The
    windows never roll over in the middle of a test and Retry-After is exact."""

    def __init__(self) -> None:
        now = utcnow()
        start = now - (now - datetime(1970, 1, 1, tzinfo=now.tzinfo)) % timedelta(minutes=15)
        self.now = start + timedelta(seconds=15)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


CLIENT_RETRY = 45
TARGET_RETRY = 15 * 60 - 15


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def web(services: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> Starlette:
    """The web app on the unit services; its real rate limiter reads the frozen clock."""
    monkeypatch.setattr(
        web_app_module, "RateLimiter", lambda store: RateLimiter(store, clock=clock)
    )
    return create_web_app(services)


@asynccontextmanager
async def from_address(app: Starlette, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client the app sees at `host` (as a reverse proxy reports the client's address)."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http


@pytest.fixture
async def bound_bot(fake: FakeBotApi, settings: Settings, engine: object) -> AsyncIterator[Harness]:
    """The harness with WEBAPP_BINDING on: links and forms open as Telegram Web Apps."""
    harness = Harness(fake, bot_settings(settings, fake, webapp_binding=True))
    await harness.start()
    yield harness
    await harness.stop()


def wrong_hash(n: int) -> str:
    """A well-formed key hash that is not the link's."""
    return key_hash(f"a guess, number {n}".encode())


def secured(response: httpx.Response) -> httpx.Response:
    """Assert the response carries every security header, once, with its exact value."""
    where = (response.request.method, response.status_code)
    for header, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(header) == [value], (*where, header)
    # The essentials spelled out, so weakening SECURITY_HEADERS itself fails here too.
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"], where
    assert "default-src 'none'" in response.headers["content-security-policy"], where
    assert response.headers["x-frame-options"] == "DENY", where
    assert response.headers["cache-control"] == "no-store", where
    assert response.headers["referrer-policy"] == "no-referrer", where
    assert "noindex" in response.headers["x-robots-tag"], where
    assert response.headers["x-content-type-options"] == "nosniff", where
    return response


async def audit_events(
    sessions: async_sessionmaker[AsyncSession], ticket_id: int | None = None
) -> list[AuditEvent]:
    async with sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if ticket_id is not None:
            query = query.where(AuditEvent.ticket_id == ticket_id)
        return list((await session.execute(query)).scalars().all())


def refusal_reasons(events: list[AuditEvent]) -> list[str]:
    return sorted(str(e.detail.get("reason")) for e in events if e.action == "reveal_refused")


def assert_nothing_leaks(events: list[AuditEvent], *secrets: str) -> None:
    assert events
    for event in events:
        recorded = json.dumps(
            [event.action, event.actor_id, event.actor_name, event.detail], ensure_ascii=False
        )
        for secret in secrets:
            assert secret not in recorded, (event.action, event.detail)


def link_secrets(link: Link) -> tuple[str, ...]:
    """What must never be recorded about a link: its id, its key, the key's hash, the secret."""
    return (
        link.issued.link_id,
        urlsplit(link.issued.url).fragment,
        link.key_hash,
        PASSWORD,
        USER_ID,
    )


async def still_stored(store: Store, hashed: str) -> bool:
    """The sealed secret is still in the store (nothing consumed it)."""
    return await store.get(f"cred:{hashed}") is not None


# ---- 1. preview bots and scanners ------------------------------------------------------


async def test_a_storm_of_preview_fetches_burns_nothing_and_is_audited_once(
    web: Starlette,
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    store: Store,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    link = await delivered(tickets, files, vault)
    fragment = urlsplit(link.issued.url).fragment
    addresses = ["203.0.113.5", "203.0.113.6", "198.51.100.20", "2001:db8::7"]
    per_address = 25
    assert per_address < PAGE_LIMIT.count

    async with (
        from_address(web, addresses[0]) as a,
        from_address(web, addresses[1]) as b,
        from_address(web, addresses[2]) as c,
        from_address(web, addresses[3]) as d,
    ):
        fetchers = [a, b, c, d]
        storm = [
            fetchers[i % len(fetchers)].get(
                link.path, headers={"User-Agent": PREVIEW_AGENTS[i % len(PREVIEW_AGENTS)]}
            )
            for i in range(len(fetchers) * per_address)
        ]
        responses = await asyncio.gather(*storm)

    assert len(responses) == 100
    assert [r.status_code for r in responses] == [200] * 100
    for response in responses:
        assert "Tampilkan" in response.text
        for leak in (PASSWORD, USER_ID, fragment, link.key_hash):
            assert leak not in response.text

    status = await tickets.link_status(link.issued.link_hash)
    assert status is not None
    assert status.opened_at is None
    assert status.first_viewed_at is not None
    assert await still_stored(store, link.issued.link_hash)
    opened = [e.action for e in await audit_events(sessions, link.ticket.id)].count("link_opened")
    # Every fetch counted, the first one audited once (on PostgreSQL too, where the 100
    # fetches really run concurrently).
    assert (status.views, opened) == (100, 1)

    # The requester's own reveal still gets the secret.
    revealed = await post_reveal(client, link)
    assert revealed.status_code == 200
    assert open_response(revealed, link.key) == {"user_id": USER_ID, "password": PASSWORD}
    assert (await tickets.get(link.ticket.id)).state == TicketState.RECEIVED
    assert [e.action for e in await audit_events(sessions, link.ticket.id)].count(
        "link_opened"
    ) == 1


# ---- 2. guessing and the rate limits ----------------------------------------------------


async def test_one_client_is_slowed_down_after_twenty_reveals_but_others_are_not(
    web: Starlette,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    store: Store,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Twenty wrong guesses spread over three links: no link reaches its own limit.
    guessed = [await delivered(tickets, files, vault) for _ in range(3)]
    fresh = await delivered(tickets, files, vault)
    assert -(-CLIENT_LIMIT.count // len(guessed)) < TARGET_LIMIT.count

    async with (
        from_address(web, "203.0.113.5") as guesser,
        from_address(web, "198.51.100.7") as neighbour,
    ):
        for n in range(CLIENT_LIMIT.count):
            refused = await post_reveal(guesser, guessed[n % len(guessed)], wrong_hash(n))
            assert refused.status_code == 403, n
            assert "salin seluruh link" in refused.json()["error"].lower()

        # The 21st, on a link nobody guessed at and even with the right key: slowed down.
        blocked = secured(await post_reveal(guesser, fresh))
        assert blocked.status_code == 429
        retry_after = blocked.headers["Retry-After"]
        assert retry_after.isdigit() and int(retry_after) >= 1
        # The client's window (45 s left), not the link's (885 s left): the client limit hit.
        assert int(retry_after) == CLIENT_RETRY
        assert blocked.json() == {"error": TOO_MANY.format(seconds=CLIENT_RETRY)}
        assert "ciphertext" not in blocked.json()
        assert await still_stored(store, fresh.issued.link_hash)

        # Another address is not limited by that guesser.
        for link in guessed:
            other = await post_reveal(neighbour, link)
            assert other.status_code == 200
            assert open_response(other, link.key)["password"] == PASSWORD
        other = await post_reveal(neighbour, fresh)
        assert other.status_code == 200
        assert open_response(other, fresh.key)["password"] == PASSWORD

    assert refusal_reasons(await audit_events(sessions, fresh.ticket.id)) == ["rate_limited"]
    for link in guessed:
        events = await audit_events(sessions, link.ticket.id)
        wrong = sum(1 for n in range(CLIENT_LIMIT.count) if guessed[n % len(guessed)] is link)
        assert refusal_reasons(events) == ["bad_key"] * wrong


async def test_a_link_guessed_at_from_many_addresses_refuses_more_guesses_but_not_the_right_key(
    web: Starlette,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    store: Store,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    link = await delivered(tickets, files, vault)

    for n in range(TARGET_LIMIT.count):
        async with from_address(web, f"192.0.2.{n + 1}") as guesser:
            refused = await post_reveal(guesser, link, wrong_hash(n))
            assert refused.status_code == 403, n

    # The link has had its ten wrong keys: one more guess, from yet another address, waits.
    async with from_address(web, "192.0.2.200") as guesser:
        blocked = secured(await post_reveal(guesser, link, wrong_hash(99)))
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == str(TARGET_RETRY)  # the link's window
        assert blocked.json() == {"error": TOO_MANY.format(seconds=TARGET_RETRY)}
        assert "ciphertext" not in blocked.json()
    assert await still_stored(store, link.issued.link_hash)
    assert (await tickets.get(link.ticket.id)).state == TicketState.DELIVERED

    # The requester, with the right key, is not locked out by the guessers.
    async with from_address(web, "198.51.100.99") as requester:
        revealed = secured(await post_reveal(requester, link))
        assert revealed.status_code == 200
        assert open_response(revealed, link.key) == {"user_id": USER_ID, "password": PASSWORD}
    assert (await tickets.get(link.ticket.id)).state == TicketState.RECEIVED

    # Every refusal is on the ticket's record, with its reason, and nothing that opens the link.
    events = await audit_events(sessions, link.ticket.id)
    assert refusal_reasons(events) == ["bad_key"] * TARGET_LIMIT.count + ["rate_limited"]
    assert [e.action for e in events].count("link_revealed") == 1
    status = await tickets.link_status(link.issued.link_hash)
    assert status is not None and status.refusals == TARGET_LIMIT.count + 1
    assert_nothing_leaks(await audit_events(sessions), *link_secrets(link))


# ---- 3. the security headers -------------------------------------------------------------


async def test_every_kind_of_response_carries_the_security_headers(
    web: Starlette, tickets: TicketService, files: DocumentStore, vault: CredentialVault
) -> None:
    link = await delivered(tickets, files, vault)
    used = await delivered(tickets, files, vault)
    hammered = await delivered(tickets, files, vault)
    reveal = f"{link.path}/reveal"
    unknown_reveal = f"/s/{UNKNOWN_ID}/reveal"
    form = f"/f/{UNKNOWN_ID}"
    as_json = {"Content-Type": "application/json", "Origin": ORIGIN}
    responses: dict[str, httpx.Response] = {}

    async with from_address(web, "203.0.113.10") as http:
        responses["page 200"] = await http.get(link.path)
        responses["page HEAD 200"] = await http.head(link.path)
        responses["page 404"] = await http.get(f"/s/{UNKNOWN_ID}")
        responses["page 404 malformed"] = await http.get("/s/short")
        responses["reveal 400"] = await http.post(reveal, content=b"not json", headers=as_json)
        responses["reveal 403 key"] = await post_reveal(http, link, wrong_hash(1))
        responses["reveal 403 origin"] = await http.post(
            reveal, json={"key_hash": link.key_hash}, headers={"Origin": EVIL_ORIGIN}
        )
        responses["reveal 404"] = await http.post(
            unknown_reveal, json={"key_hash": "0" * 32}, headers={"Origin": ORIGIN}
        )
        responses["reveal 405"] = await http.get(reveal)
        responses["reveal 415"] = await http.post(reveal, data={"key_hash": link.key_hash})
        responses["reveal 200"] = await post_reveal(http, used)
        responses["reveal 410"] = await post_reveal(http, used)
        responses["page 410"] = await http.get(used.path)
        responses["form page 410"] = await http.get(form)
        responses["form 415"] = await http.post(form, data={"password": "x"})
        responses["form 403 origin"] = await http.post(
            form, json={"password": "x"}, headers={"Origin": EVIL_ORIGIN}
        )
        responses["form 400"] = await http.post(form, content=b"[1, 2]", headers=as_json)
        responses["form 410"] = await http.post(form, json={"password": "Abcdefg12"})
        responses["healthz"] = await http.get("/healthz")
        responses["readyz"] = await http.get("/readyz")
        responses["reveal.js"] = await http.get("/static/reveal.js")
        responses["form.js"] = await http.get("/static/form.js")
        responses["style.css"] = await http.get("/static/style.css")
        responses["static 404"] = await http.get("/static/nothing.js")
        responses["no route"] = await http.get("/nothing-here")

    async with from_address(web, "203.0.113.11") as http:
        for n in range(TARGET_LIMIT.count):
            assert (await post_reveal(http, hammered, wrong_hash(n))).status_code == 403
        responses["reveal 429"] = await post_reveal(http, hammered, wrong_hash(99))
        for _ in range(TARGET_LIMIT.count):
            await http.post(form, json={"password": "Abcdefg12"}, headers={"Origin": ORIGIN})
        responses["form 429"] = await http.post(
            form, json={"password": "Abcdefg12"}, headers={"Origin": ORIGIN}
        )

    async with from_address(web, "203.0.113.12") as http:
        for _ in range(PAGE_LIMIT.count):
            assert (await http.get(f"/s/{UNKNOWN_ID}")).status_code == 404
        responses["page 429"] = await http.get(f"/s/{UNKNOWN_ID}")
        responses["form page 429"] = await http.get(form)

    expected = {
        name: int(m.group(0))
        for name in responses
        if (m := re.search(r"\b[1-5]\d\d\b", name)) is not None
    }
    got = {name: responses[name].status_code for name in expected}
    assert got == expected
    for status_free in ("healthz", "readyz", "reveal.js", "form.js", "style.css"):
        assert responses[status_free].status_code == 200, status_free
    assert responses["no route"].status_code == 404
    assert responses["static 404"].status_code == 404
    assert "Retry-After" in responses["reveal 429"].headers
    for name, response in responses.items():
        try:
            secured(response)
        except AssertionError as missing:
            raise AssertionError(f"{name}: {missing}") from None


# ---- 4. the Telegram Web App binding on the reveal ------------------------------------


def web_app_url(message: FakeMessage) -> str:
    """The URL of a message's first button, which must open as a Web App."""
    button = message.inline_keyboard[0][0]
    assert "web_app" in button, button
    assert "url" not in button, button  # not also as a plain browser link
    url = button["web_app"]["url"]
    assert isinstance(url, str)
    return url


def init_data(user_id: int, *, age: timedelta = timedelta(0), token: str = TOKEN) -> str:
    return sign_init_data(token, user_id=user_id, auth_date=int((utcnow() - age).timestamp()))


async def post_json(harness: Harness, path: str, body: dict[str, Any]) -> httpx.Response:
    response = await harness.web.post(
        path, json=body, headers={"Origin": harness.settings.public_url}
    )
    return secured(response)


async def test_with_web_app_binding_only_the_requester_inside_telegram_can_reveal(
    bound_bot: Harness, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bot = bound_bot
    number = await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, TYPED_SECRET)

    # No link in the text to copy into a browser: a Web App button instead.
    message = bot.last(REQUESTER)
    assert LINK.search(message.content) is None
    assert "/s/" not in message.content
    assert number in message.content
    parts = urlsplit(web_app_url(message))
    assert (parts.scheme, parts.netloc) == ("https", "bot.example.go.id")
    match = re.fullmatch(r"/s/([A-Za-z0-9_-]{22})", parts.path)
    assert match is not None and parts.fragment
    link_id, key = match.group(1), parts.fragment
    reveal = f"/s/{link_id}/reveal"
    proof = key_hash(unb64url(key))
    hashed = link_hash(link_id)
    store = bot.app.services.store

    # The right key alone is not enough.
    attempts = {
        "no init data": {"key_hash": proof},
        "tampered": {
            "key_hash": proof,
            # Signed for the stranger, then the user id edited to the requester's.
            "init_data": init_data(STRANGER).replace(
                f"%22id%22%3A{STRANGER}", f"%22id%22%3A{REQUESTER}"
            ),
        },
        "expired": {"key_hash": proof, "init_data": init_data(REQUESTER, age=timedelta(hours=2))},
        "another bot": {"key_hash": proof, "init_data": init_data(REQUESTER, token="1:other")},
    }
    assert f"%22id%22%3A{REQUESTER}" in str(attempts["tampered"]["init_data"])
    for name, body in attempts.items():
        refused = await post_json(bot, reveal, body)
        assert refused.status_code == 403, name
        assert "lewat tombol di chat Telegram" in refused.json()["error"], name
        assert "ciphertext" not in refused.json(), name
        assert await store.get(f"cred:{hashed}") is not None, name

    stranger = await post_json(bot, reveal, {"key_hash": proof, "init_data": init_data(STRANGER)})
    assert stranger.status_code == 403
    assert "bukan untuk akun" in stranger.json()["error"]
    assert await store.get(f"cred:{hashed}") is not None
    status = await bot.app.services.tickets.link_status(hashed)
    assert status is not None and status.opened_at is None

    revealed = await post_json(bot, reveal, {"key_hash": proof, "init_data": init_data(REQUESTER)})
    assert revealed.status_code == 200
    assert bot.decrypt(revealed, key) == {"password": TYPED_SECRET}
    await bot.pipeline.sender.flush()
    assert re.search(r"dibuka \d+ \w+ \d{4} pukul \d\d\.\d\d WIB", bot.last(REQUESTER).content)

    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None
    events = await audit_events(sessions, ticket.id)
    assert refusal_reasons(events) == ["webapp_invalid"] * len(attempts) + ["wrong_user"]
    assert_nothing_leaks(await audit_events(sessions), link_id, key, proof, TYPED_SECRET)


# ---- 5. the admin's hand-over form over HTTP ------------------------------------------


def link_messages(harness: Harness, chat: int) -> int:
    return sum(1 for text in harness.texts(chat) if LINK.search(text))


def form_path(message: FakeMessage) -> str:
    button = message.inline_keyboard[0][0]
    assert button["text"] == "📝 Buka formulir hasil"
    url = button["url"]
    assert re.fullmatch(r"https://bot\.example\.go\.id/f/[A-Za-z0-9_-]{22}", url), url
    return urlsplit(url).path


async def test_the_admin_hands_the_password_over_through_the_form_never_through_chat(
    bot: Harness,
) -> None:
    number = await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    path = form_path(bot.with_button(ADMIN, "Buka formulir hasil"))

    page = secured(await bot.web.get(path))
    assert page.status_code == 200
    assert number in page.text
    assert FORM_SECRET not in page.text
    assert path.removeprefix("/f/") not in page.text

    not_json = secured(await bot.web.post(path, data={"password": FORM_SECRET}))
    assert not_json.status_code == 415
    foreign = secured(
        await bot.web.post(path, json={"password": FORM_SECRET}, headers={"Origin": EVIL_ORIGIN})
    )
    assert foreign.status_code == 403
    weak = await post_json(bot, path, {"password": "abc"})
    assert weak.status_code == 422
    assert weak.json() == {"error": "Password minimal 8 karakter."}
    no_digit = await post_json(bot, path, {"password": "hanyahuruf"})
    assert no_digit.status_code == 422
    assert no_digit.json() == {"error": "Password harus memuat huruf dan angka."}
    assert link_messages(bot, REQUESTER) == 0

    # Refusals do not use the form up.
    assert secured(await bot.web.get(path)).status_code == 200
    done = await post_json(bot, path, {"password": FORM_SECRET})
    assert done.status_code == 200
    assert done.json()["ok"] is True
    assert "dikirim ke pemohon" in done.json()["message"]
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    assert number in bot.last(ADMIN).content

    assert link_messages(bot, REQUESTER) == 1
    _url, link_id, key = bot.link_in(REQUESTER)
    revealed = secured(await bot.reveal(link_id, key))
    assert revealed.status_code == 200
    assert bot.decrypt(revealed, key) == {"password": FORM_SECRET}
    for chat in (ADMIN, REQUESTER, GROUP):
        assert not any(FORM_SECRET in text for text in bot.texts(chat)), chat
        assert not any(FORM_SECRET in (m.content) for m in bot.fake.user_messages(chat)), chat

    again = await post_json(bot, path, {"password": FORM_SECRET})
    assert again.status_code == 410
    assert secured(await bot.web.get(path)).status_code == 410
    assert link_messages(bot, REQUESTER) == 1


async def test_two_submissions_of_one_form_at_once_hand_over_exactly_once(bot: Harness) -> None:
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    path = form_path(bot.with_button(ADMIN, "Buka formulir hasil"))

    first, second = await asyncio.gather(
        post_json(bot, path, {"password": FORM_SECRET}),
        post_json(bot, path, {"password": FORM_SECRET + "2"}),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 410]
    assert link_messages(bot, REQUESTER) == 1
    winner = FORM_SECRET if first.status_code == 200 else FORM_SECRET + "2"
    _url, link_id, key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(link_id, key), key) == {"password": winner}


async def test_with_web_app_binding_only_the_admin_who_tapped_can_submit_the_form(
    bound_bot: Harness,
) -> None:
    bot = bound_bot
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    offer = bot.with_button(ADMIN, "Buka formulir hasil")
    parts = urlsplit(web_app_url(offer))
    assert (parts.scheme, parts.netloc) == ("https", "bot.example.go.id")
    path = parts.path

    outside = await post_json(bot, path, {"password": FORM_SECRET})
    assert outside.status_code == 403
    for other in (ADMIN_2, REQUESTER):
        refused = await post_json(
            bot, path, {"password": FORM_SECRET, "init_data": init_data(other)}
        )
        assert refused.status_code == 403, other
        assert "bukan untuk akun" in refused.json()["error"], other
    expired = await post_json(
        bot,
        path,
        {"password": FORM_SECRET, "init_data": init_data(ADMIN, age=timedelta(hours=2))},
    )
    assert expired.status_code == 403
    assert not any("/s/" in text for text in bot.texts(REQUESTER))

    done = await post_json(bot, path, {"password": FORM_SECRET, "init_data": init_data(ADMIN)})
    assert done.status_code == 200
    assert done.json()["ok"] is True

    # The requester's result, on a Web App button, opens for the requester.
    link_url = urlsplit(web_app_url(bot.last(REQUESTER)))
    link_id = link_url.path.removeprefix("/s/")
    key = link_url.fragment
    revealed = await post_json(
        bot,
        f"/s/{link_id}/reveal",
        {"key_hash": key_hash(unb64url(key)), "init_data": init_data(REQUESTER)},
    )
    assert revealed.status_code == 200
    assert bot.decrypt(revealed, key) == {"password": FORM_SECRET}


async def test_the_form_refuses_a_password_or_user_id_with_invisible_characters(
    bot: Harness,
) -> None:
    await bot.submit_request(kind="Reset + info user ID")
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    path = form_path(bot.with_button(ADMIN, "Buka formulir hasil"))

    for user_id, password in [
        ("budi.pu.2020", "Mulai\u202e2026x"),  # shown reversed from here on
        ("budi.pu.2020", "Mulai\x002026x"),
        ("budi\u200b.pu.2020", FORM_SECRET),  # would not match what the requester types
    ]:
        refused = await post_json(bot, path, {"user_id": user_id, "password": password})
        assert refused.status_code == 422
        assert "karakter tak terlihat atau karakter kontrol" in refused.json()["error"]
    assert link_messages(bot, REQUESTER) == 0

    done = await post_json(bot, path, {"user_id": "budi.pu.2020", "password": FORM_SECRET})
    assert done.status_code == 200
    _url, link_id, key = bot.link_in(REQUESTER)
    revealed = bot.decrypt(secured(await bot.reveal(link_id, key)), key)
    assert revealed == {"user_id": "budi.pu.2020", "password": FORM_SECRET}
