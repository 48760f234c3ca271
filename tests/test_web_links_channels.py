"""The one-time link by the requester's channel: WEBAPP_BINDING binds Telegram requesters
only, and link-preview fetchers are not counted as a view of the page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations.context import Services
from chatbot.db.models import AuditEvent, CredentialLink
from chatbot.services.credentials import CredentialVault
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import RequestType, TicketState
from chatbot.services.tickets import TicketService
from chatbot.web.app import create_web_app
from tests.factories import ADMIN, submitted_ticket
from tests.test_web_links import ORIGIN, PASSWORD, Link, open_response, post_reveal

BOT_TOKEN = "424242:TEST-token-for-the-binding"
WA_NUMBER = "6281234567001"


@pytest.fixture
async def bound(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The web app with WEBAPP_BINDING on."""
    app = create_web_app(services, bot_token=BOT_TOKEN, require_webapp=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        yield c


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_web_app(services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        yield c


async def delivered_to(
    tickets: TicketService, files: DocumentStore, vault: CredentialVault, channel: str, chat: str
) -> Link:
    """A ticket of a requester on `channel`, taken to step 8 with its link sent."""
    ticket = await submitted_ticket(tickets, files, RequestType.BOTH, chat_id=chat, channel=channel)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    assert ticket.number is not None
    issued = await vault.issue(
        ticket_number=ticket.number, secret={"user_id": "budi", "password": PASSWORD}
    )
    ticket = await tickets.deliver_result(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        link_hash=issued.link_hash,
        expires_at=issued.expires_at,
    )
    assert ticket.state == TicketState.DELIVERED
    return Link(issued, ticket)


# ---- WEBAPP_BINDING binds Telegram requesters only --------------------------------------------


async def test_with_binding_a_whatsapp_requesters_link_opens_in_a_browser(
    bound: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered_to(tickets, files, vault, "whatsapp", WA_NUMBER)
    assert (await bound.get(link.path)).status_code == 200
    response = await post_reveal(bound, link)
    assert response.status_code == 200, response.text
    assert open_response(response, link.key)["password"] == PASSWORD
    ticket = await tickets.get(link.ticket.id)
    assert ticket.state == TicketState.RECEIVED


async def test_with_binding_a_telegram_requesters_link_still_needs_telegram(
    bound: httpx.AsyncClient,
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered_to(tickets, files, vault, "telegram", "1001")
    response = await post_reveal(bound, link)
    assert response.status_code == 403
    assert (await tickets.get(link.ticket.id)).state == TicketState.DELIVERED


# ---- preview fetchers are no view -------------------------------------------------------------

PREVIEWERS = (
    "WhatsApp/2.23.20.0 A",
    "WhatsApp/2.2413.51 i",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
)
BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"


async def views(sessions: async_sessionmaker[AsyncSession], link: Link) -> tuple[int, int]:
    """(views counted, link_opened audit events) of the link."""
    async with sessions() as session:
        row = await session.scalar(
            select(CredentialLink).where(CredentialLink.link_hash == link.issued.link_hash)
        )
        opened = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.ticket_id == link.ticket.id, AuditEvent.action == "link_opened"
            )
        )
        assert row is not None
        return row.views, len(list(opened))


async def test_link_preview_fetchers_are_not_counted_as_a_view(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tickets: TicketService,
    files: DocumentStore,
    vault: CredentialVault,
) -> None:
    link = await delivered_to(tickets, files, vault, "whatsapp", WA_NUMBER)
    for agent in PREVIEWERS:
        page = await client.get(link.path, headers={"User-Agent": agent})
        assert page.status_code == 200 and "Tampilkan" in page.text  # the page, as for anyone
    assert await views(sessions, link) == (0, 0)

    await client.get(link.path, headers={"User-Agent": BROWSER})
    assert await views(sessions, link) == (1, 1)
