"""One-time link pages: GET never burns a link, exactly one reveal succeeds, nothing leaks."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uvicorn.logging import AccessFormatter

from chatbot.conversations.context import Services
from chatbot.db.models import CredentialLink, OutboxMessage, Ticket, utcnow
from chatbot.services.credentials import (
    CredentialVault,
    IssuedLink,
    Sealed,
    open_sealed,
    unb64url,
)
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import RequestType, TicketState
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.store import Store
from chatbot.web.app import SECURITY_HEADERS, RedactLinkPaths, create_web_app, uvicorn_log_config
from tests.factories import ADMIN, submitted_ticket

PASSWORD = "Spse#2026-rahasia"
USER_ID = "budi.pu.magelang"
ORIGIN = "https://bot.example.go.id"


@dataclass
class Link:
    issued: IssuedLink
    ticket: Ticket

    @property
    def path(self) -> str:
        return urlsplit(self.issued.url).path

    @property
    def key(self) -> bytes:
        return unb64url(urlsplit(self.issued.url).fragment)

    @property
    def key_hash(self) -> str:
        # As the page computes it: SHA-256 of the raw key, hex of the first 16 bytes.
        return hashlib.sha256(self.key).digest()[:16].hex()


@pytest.fixture
def vault(store: Store, settings: Settings) -> CredentialVault:
    return CredentialVault(store, settings.public_url, timedelta(hours=1))


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_web_app(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        yield client


async def delivered(
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    *,
    secret: dict[str, str] | None = None,
    expires_in: timedelta | None = None,
) -> Link:
    """A ticket taken through the SOP to step 8, its one-time link sent to the requester."""
    ticket = await submitted_ticket(tickets, files, RequestType.BOTH)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    assert ticket.number is not None
    issued = await vault.issue(
        ticket_number=ticket.number, secret=secret or {"user_id": USER_ID, "password": PASSWORD}
    )
    expires_at = issued.expires_at if expires_in is None else utcnow() + expires_in
    ticket = await tickets.deliver_result(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        link_hash=issued.link_hash,
        expires_at=expires_at,
    )
    assert ticket.state == TicketState.DELIVERED
    return Link(issued, ticket)


async def post_reveal(
    client: httpx.AsyncClient, link: Link, key_hash: str | None = None
) -> httpx.Response:
    return await client.post(
        f"{link.path}/reveal",
        json={"key_hash": key_hash or link.key_hash},
        headers={"Origin": ORIGIN},
    )


async def receipts(tickets: TicketService, link: Link) -> int:
    """How many receipts ("dibuka pukul ...") were queued for the requester."""
    async with tickets._sessions() as session:
        rows = await session.execute(
            select(OutboxMessage).where(
                OutboxMessage.ticket_id == link.ticket.id, OutboxMessage.kind == "received"
            )
        )
        return len(rows.scalars().all())


def open_response(response: httpx.Response, key: bytes) -> dict[str, str]:
    body = response.json()
    return open_sealed(Sealed(body["ciphertext"], body["iv"], body["aad"]), key)


async def test_reveal_hands_out_the_secret_once_and_marks_the_ticket_received(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    settings: Settings,
) -> None:
    link = await delivered(tickets, files, vault)

    response = await post_reveal(client, link)

    assert response.status_code == 200
    assert open_response(response, link.key) == {"user_id": USER_ID, "password": PASSWORD}
    assert response.json()["aad"] == link.ticket.number
    assert PASSWORD not in response.text
    ticket = await tickets.get(link.ticket.id)
    assert ticket.state == TicketState.RECEIVED  # step 8's output: received by the requester
    assert await receipts(tickets, link) == 1

    again = await post_reveal(client, link)
    assert again.status_code == 410
    assert "sudah dibuka" in again.json()["error"]
    assert await receipts(tickets, link) == 1

    page = await client.get(link.path)
    assert page.status_code == 410
    status = await tickets.link_status(link.issued.link_hash)
    assert status is not None
    assert status.opened_at is not None
    local = status.opened_at.astimezone(settings.zone)
    months = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
    when = f"{local.day} {months[local.month - 1]} {local.year} pukul {local:%H.%M} WIB"
    assert f"Link ini sudah dibuka pada {when}" in page.text
    assert "Tampilkan" not in page.text


async def test_page_shows_the_button_but_holds_no_secret_and_a_storm_of_gets_burns_nothing(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered(tickets, files, vault)

    page = await client.get(link.path)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Tampilkan" in page.text
    assert "satu kali" in page.text
    assert '<meta name="robots"' in page.text
    assert '<script src="../static/reveal.js" defer></script>' in page.text
    assert "<style" not in page.text
    assert "style=" not in page.text
    fragment = urlsplit(link.issued.url).fragment
    for leak in (PASSWORD, USER_ID, fragment, link.key_hash, link.ticket.number or "?"):
        assert leak not in page.text

    # Link-preview fetchers and mail scanners: GETs and HEADs, also the "%23" mangled form.
    storm = [client.get(link.path) for _ in range(10)]
    storm += [client.head(link.path) for _ in range(10)]
    storm += [client.get(f"{link.path}%23{fragment}") for _ in range(10)]
    responses = await asyncio.gather(*storm)
    assert [r.status_code for r in responses] == [200] * 30
    assert all(PASSWORD not in r.text for r in responses)
    assert await receipts(tickets, link) == 0

    response = await post_reveal(client, link)
    assert response.status_code == 200
    assert open_response(response, link.key)["password"] == PASSWORD


async def test_wrong_key_is_refused_and_the_link_still_works(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered(tickets, files, vault)
    wrong = hashlib.sha256(b"not the key").digest()[:16].hex()

    refused = await post_reveal(client, link, key_hash=wrong)

    assert refused.status_code == 403
    assert "salin seluruh link" in refused.json()["error"].lower()
    assert "#" in refused.json()["error"]
    assert await receipts(tickets, link) == 0
    assert (await client.get(link.path)).status_code == 200
    response = await post_reveal(client, link)
    assert response.status_code == 200
    assert open_response(response, link.key)["password"] == PASSWORD


async def test_unknown_link_is_not_found(client: httpx.AsyncClient) -> None:
    for path in ("/s/AAAAAAAAAAAAAAAAAAAAAA", "/s/short", "/s/AAAAAAAAAAAAAAAAAAAAAA%23xyz"):
        page = await client.get(path)
        assert page.status_code == 404
        assert "Link tidak ditemukan" in page.text
    response = await client.post(
        "/s/AAAAAAAAAAAAAAAAAAAAAA/reveal", json={"key_hash": "0" * 32}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "Link tidak ditemukan"


async def test_expired_link_says_so_on_the_page_and_refuses_a_reveal(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    gone = await delivered(tickets, files, vault, expires_in=-timedelta(minutes=1))
    await vault.revoke(gone.issued.link_id)  # the store's TTL has passed: the entry is gone
    # Past its expiry in the database while the store still holds it (clocks disagree).
    lingering = await delivered(tickets, files, vault, expires_in=-timedelta(seconds=1))

    for link in (gone, lingering):
        page = await client.get(link.path)
        assert page.status_code == 410
        assert "Link kedaluwarsa, minta admin mengirim ulang" in page.text
        assert "Tampilkan" not in page.text
        response = await post_reveal(client, link)
        assert response.status_code == 410
        assert "kedaluwarsa" in response.json()["error"]
        assert "ciphertext" not in response.json()
    assert await receipts(tickets, link) == 0


async def test_revoked_link_says_it_was_cancelled(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    link = await delivered(tickets, files, vault)
    async with sessions.begin() as session:
        await session.execute(
            update(CredentialLink)
            .where(CredentialLink.link_hash == link.issued.link_hash)
            .values(revoked_at=utcnow())
        )

    page = await client.get(link.path)
    assert page.status_code == 410
    assert "Link dibatalkan" in page.text
    response = await post_reveal(client, link)
    assert response.status_code == 410
    assert response.json()["error"] == "Link dibatalkan"


async def outbox_kinds(tickets: TicketService, link: Link) -> list[tuple[str, str]]:
    """(audience, kind) of every notification queued for the link's ticket, in order."""
    async with tickets._sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.audience, OutboxMessage.kind)
            .where(OutboxMessage.ticket_id == link.ticket.id)
            .order_by(OutboxMessage.id)
        )
        return [(audience, kind) for audience, kind in rows.all()]


async def test_a_link_the_store_lost_says_so_and_goes_back_for_a_new_one(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    store: Store,
) -> None:
    """Redis restarted without keeping its data: the sealed secret is gone, nobody opened it."""
    page_first = await delivered(tickets, files, vault)
    reveal_first = await delivered(tickets, files, vault)
    for link in (page_first, reveal_first):
        await store.delete(f"cred:{link.issued.link_hash}")
    queued_before = await outbox_kinds(tickets, page_first)

    page = await client.get(page_first.path)
    assert page.status_code == 410
    assert "Link tidak bisa dibuka lagi" in page.text
    assert "gangguan penyimpanan" in page.text and "link baru" in page.text
    assert "Tampilkan" not in page.text
    response = await post_reveal(client, reveal_first)
    assert response.status_code == 410
    assert "gangguan penyimpanan" in response.json()["error"]
    assert "sudah dibuka" not in response.json()["error"]

    for link in (page_first, reveal_first):
        ticket = await tickets.get(link.ticket.id)
        assert ticket.state == TicketState.VALID  # step 6 again: "Kirim ulang hasil"
        assert ticket.result_admin_id is None
        status = await tickets.link_status(link.issued.link_hash)
        assert status is not None and status.state == "lost" and status.opened_at is None
    # Told once, however often the page is looked at afterwards.
    for _ in range(3):
        assert (await client.get(page_first.path)).status_code == 410
        again = await post_reveal(client, page_first)
        assert again.status_code == 410 and "gangguan penyimpanan" in again.json()["error"]
    new = (await outbox_kinds(tickets, page_first))[len(queued_before) :]
    assert new == [("requester", "link_lost"), ("admins", "link_lost"), ("admins", "card")]
    assert await receipts(tickets, page_first) == 0


async def test_a_link_revealed_but_not_yet_recorded_is_not_taken_for_lost(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store is empty after a reveal too: only a link nobody took counts as lost."""
    link = await delivered(tickets, files, vault)
    real_mark_received = tickets.mark_received

    async def database_down(**_: object) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(tickets, "mark_received", database_down)
    assert (await post_reveal(client, link)).status_code == 200
    monkeypatch.setattr(tickets, "mark_received", real_mark_received)

    again = await post_reveal(client, link)
    assert again.status_code == 410
    assert again.json()["error"] == "Link sudah dibuka atau kedaluwarsa"
    assert (await client.get(link.path)).status_code == 200  # not lost: the page still stands
    assert (await tickets.get(link.ticket.id)).state == TicketState.DELIVERED
    assert ("requester", "link_lost") not in await outbox_kinds(tickets, link)


async def test_fifty_concurrent_reveals_yield_exactly_one_secret(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered(tickets, files, vault)

    responses = await asyncio.gather(*(post_reveal(client, link) for _ in range(50)))

    codes = sorted(r.status_code for r in responses)
    # One winner; the others find it gone (410) or are slowed down by the per-link limit (429).
    assert codes[0] == 200
    assert set(codes[1:]) <= {410, 429}
    assert all("ciphertext" not in r.json() for r in responses if r.status_code != 200)
    winner = next(r for r in responses if r.status_code == 200)
    assert open_response(winner, link.key)["password"] == PASSWORD
    assert await receipts(tickets, link) == 1


async def test_a_failure_to_record_the_reveal_does_not_cost_the_requester_the_secret(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    link = await delivered(tickets, files, vault)

    async def database_down(**_: object) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(tickets, "mark_received", database_down)
    with caplog.at_level(logging.DEBUG, logger="chatbot"):
        response = await post_reveal(client, link)

    assert response.status_code == 200
    assert open_response(response, link.key)["password"] == PASSWORD
    formatter = logging.Formatter("%(name)s %(message)s")
    ours = "\n".join(formatter.format(r) for r in caplog.records if r.name.startswith("chatbot"))
    assert f"revealed ticket {link.ticket.number} not marked received: ConnectionError" in ours
    for secret in (link.issued.link_id, urlsplit(link.issued.url).fragment, PASSWORD):
        assert secret not in ours


async def test_reveal_only_accepts_a_json_post_from_its_own_origin(
    client: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered(tickets, files, vault)
    url = f"{link.path}/reveal"

    form = await client.post(url, data={"key_hash": link.key_hash})
    assert form.status_code == 415
    text_plain = await client.post(
        url,
        content=f'{{"key_hash": "{link.key_hash}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert text_plain.status_code == 415
    other_site = await client.post(
        url, json={"key_hash": link.key_hash}, headers={"Origin": "https://evil.example.com"}
    )
    assert other_site.status_code == 403
    null_origin = await client.post(
        url, json={"key_hash": link.key_hash}, headers={"Origin": "null"}
    )
    assert null_origin.status_code == 403
    for body in (b"", b"not json", b"[]", b'{"key_hash": 5}', b'{"key_hash": "abc"}'):
        malformed = await client.post(
            url, content=body, headers={"Content-Type": "application/json", "Origin": ORIGIN}
        )
        assert malformed.status_code == 400, body
        assert "error" in malformed.json()
    assert (await client.get(f"{link.path}/reveal")).status_code == 405
    assert await receipts(tickets, link) == 0

    # None of that burned the link; a request without Origin (non-browser) is fine too.
    response = await client.post(url, json={"key_hash": link.key_hash})
    assert response.status_code == 200
    assert open_response(response, link.key)["password"] == PASSWORD


async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, tickets: TicketService, files: DocumentStore, vault: CredentialVault
) -> None:
    link = await delivered(tickets, files, vault)

    responses = {
        "page": await client.get(link.path),
        "head": await client.head(link.path),
        "not found page": await client.get("/s/AAAAAAAAAAAAAAAAAAAAAA"),
        "script": await client.get("/static/reveal.js"),
        "style": await client.get("/static/style.css"),
        "health": await client.get("/healthz"),
        "refused": await client.post(f"{link.path}/reveal", data={"key_hash": "x"}),
        "reveal": await post_reveal(client, link),
        "gone": await post_reveal(client, link),
        "no route": await client.get("/nothing-here"),
    }

    for name, response in responses.items():
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
    csp = responses["page"].headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert responses["page"].headers["cache-control"] == "no-store"
    assert responses["reveal"].status_code == 200
    assert responses["script"].status_code == 200
    assert "crypto.subtle" in responses["script"].text
    assert responses["style"].headers["content-type"].startswith("text/css")
    assert responses["health"].json() == {"status": "ok"}


async def test_readiness_reports_unavailable_when_a_dependency_is_down(
    services: Services,
) -> None:
    state = {"ready": True}

    async def readiness() -> bool:
        return state["ready"]

    app = create_web_app(services, readiness=readiness)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        assert (await c.get("/readyz")).status_code == 200
        state["ready"] = False
        down = await c.get("/readyz")
        assert down.status_code == 503
        assert (await c.get("/healthz")).status_code == 200


def test_access_log_never_shows_a_link_id_or_key() -> None:
    link_path = "/s/Qm9ndXNMaW5rSWQxMjM0NQ%23a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.9:5123", "GET", link_path, "1.1", 200),
        None,
    )

    assert RedactLinkPaths().filter(record) is True
    line = AccessFormatter(use_colors=False).format(record)

    assert "/s/***" in line
    assert "Qm9ndXNMaW5rSWQ" not in line
    assert "a2V5a2V5" not in line
    assert "203.0.113.9:5123" in line
    assert "GET" in line

    config = uvicorn_log_config()
    assert config["filters"]["redact_link_paths"]["()"] is RedactLinkPaths
    assert "redact_link_paths" in config["handlers"]["access"]["filters"]
    assert "redact_link_paths" in config["handlers"]["default"]["filters"]
