"""The requester's one-time link (SOP step 8).

`GET /s/{link_id}` only shows a page; it never consumes the link, so link-preview fetchers
(Telegram, WhatsApp, mail scanners) cannot burn it. The page's script reads the key from the
#fragment, which the browser never sends here, and proves it holds the key with a deliberate
`POST /s/{link_id}/reveal` carrying only the key's hash. The answer is ciphertext, decrypted
in the browser. Neither the link id nor the key is ever logged; every refusal is audited.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatbot.conversations import texts as t
from chatbot.conversations.context import Services
from chatbot.conversations.texts import clock
from chatbot.db.models import CredentialLink
from chatbot.services.credentials import RevealRefused, Sealed, link_hash
from chatbot.services.tickets import TicketService
from chatbot.services.webapp_auth import WebAppUser
from chatbot.web.guards import (
    CLIENT_LIMIT,
    TARGET_LIMIT,
    TEXT_BAD_REQUEST,
    TEXT_UNAVAILABLE,
    TEXT_WRONG_USER,
    Guard,
    client_address,
    error,
    read_json,
    telegram_user,
)
from chatbot.web.pages import REVEAL_BODY, closed_page, page

log = logging.getLogger(__name__)

# The channel whose requesters a Web App binding (WEBAPP_BINDING) applies to.
TELEGRAM = "telegram"
# Link-preview fetchers: WhatsApp's client builds a preview while a message is typed or shown,
# Meta's crawler for it. Their GET is no person looking at the link: not counted as a view.
PREVIEW_AGENT = re.compile(r"^WhatsApp/|facebookexternalhit", re.IGNORECASE)
# 16 random bytes in base64url, as CredentialVault.issue makes them.
LINK_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
KEY_HASH = re.compile(r"^[0-9a-fA-F]{32}$")

# How a refused reveal is audited, by the link's state.
_REFUSAL = {
    "opened": "already_opened",
    "revoked": "revoked",
    "lost": "lost",
    "expired": "expired",
    "pending": "pending",
}

TEXT_NOT_FOUND = "Link tidak ditemukan"
TEXT_REVOKED = "Link dibatalkan"
TEXT_EXPIRED = "Link kedaluwarsa, minta admin mengirim ulang"
TEXT_GONE = "Link sudah dibuka atau kedaluwarsa"
TEXT_SENDING = "Link ini sedang dikirim, coba lagi sebentar"
HINT_SENDING = "Muat ulang halaman ini dalam beberapa detik."
# Why a link in these states can no longer be opened (status code, Indonesian text).
_CLOSED = {
    "revoked": (410, TEXT_REVOKED),
    "lost": (410, t.LINK_LOST_PAGE),
    "expired": (410, TEXT_EXPIRED),
    "pending": (409, TEXT_SENDING),  # opened in the moment between sending and recording it
}
TEXT_BAD_KEY = (
    "Link tidak lengkap. Salin seluruh link dari pesan, termasuk bagian setelah tanda #, "
    "lalu buka lagi."
)


class LinkPages:
    def __init__(
        self,
        services: Services,
        guard: Guard,
        *,
        bot_token: str | None,
        require_webapp: bool,
    ) -> None:
        self._services = services
        self._guard = guard
        self._bot_token = bot_token
        self._require_webapp = require_webapp

    def routes(self) -> list[Route]:
        return [
            Route("/s/{link_id}", self.page, methods=["GET"]),
            Route("/s/{link_id}/reveal", self.reveal, methods=["POST"]),
        ]

    def _closed(self, link: CredentialLink | None) -> tuple[int, str] | None:
        """Why the link can no longer be opened (status code, Indonesian text); None if it can."""
        if link is None:
            return 404, TEXT_NOT_FOUND
        if link.state == "opened" and link.opened_at is not None:
            return 410, f"Link ini sudah dibuka pada {clock(link.opened_at, self._services.zone)}"
        return _CLOSED.get(link.state)

    async def page(self, request: Request) -> Response:
        # A chat app may have turned "#" into "%23": the key then arrives in the path. Ignore
        # it here (the page's script repairs the URL); never log it.
        link_id = str(request.path_params["link_id"]).split("#", 1)[0]
        if not LINK_ID.fullmatch(link_id):
            return closed_page(TEXT_NOT_FOUND, "Periksa kembali link yang Anda terima.", 404)
        try:
            if not await self._guard.hit_page(request):
                return closed_page("Terlalu banyak permintaan", "Tunggu sebentar.", 429)
            link = await self._viewed(link_hash(link_id), counted=not is_preview(request))
        except Exception as exc:
            log.error("link page: lookup failed: %s", type(exc).__name__)
            return closed_page("Layanan sedang bermasalah", TEXT_UNAVAILABLE, 503)
        closed = self._closed(link)
        if closed is not None:
            return _closed_page(link, *closed)
        return page("Hasil permintaan Anda", REVEAL_BODY, script="reveal.js")

    async def _viewed(self, hashed: str, *, counted: bool = True) -> CredentialLink | None:
        """The link as the page shows it: a view counted (unless `counted` is off: a preview
        fetcher), or found lost from the store."""
        tickets = self._services.tickets
        link = await tickets.link_status(hashed)
        if link is not None and self._closed(link) is None:
            if await self._services.vault.lost(hashed):
                await tickets.link_lost(hashed)
                link = await tickets.link_status(hashed)
            elif counted:
                await tickets.link_viewed(hashed)
        return link

    async def reveal(self, request: Request) -> Response:
        refused = self._guard.bad_origin(request)
        if refused is not None:
            return refused
        link_id = str(request.path_params["link_id"])
        if not LINK_ID.fullmatch(link_id):
            return error(404, TEXT_NOT_FOUND)
        hashed = link_hash(link_id)
        try:
            sealed = await self._unsealed(request, link_id, hashed)
        except Exception as exc:
            # Exception texts may quote the store key, which holds the link id: keep them out.
            log.error("reveal failed: %s", type(exc).__name__)
            return error(503, TEXT_UNAVAILABLE)
        if isinstance(sealed, Response):
            return sealed
        return await self._hand_out(sealed, hashed)

    async def _unsealed(self, request: Request, link_id: str, hashed: str) -> Response | Sealed:
        """The ciphertext, taken from the store for a caller that proved it holds the key;
        or the refusal, audited."""
        presented = await self._presented_key(request, hashed)
        if isinstance(presented, Response):
            return presented
        data, key_hash = presented
        link = await self._tickets.link_status(hashed)
        # The database has the last word on revoked or expired links, even while the
        # store still holds the ciphertext.
        closed = self._closed(link)
        if closed is not None:
            if link is not None:
                await self._tickets.reveal_refused(hashed, _REFUSAL[link.state])
            return error(*closed)
        assert link is not None
        wrong_user = await self._check_user(data, link)
        if wrong_user is not None:
            return wrong_user
        return await self._take(link_id, hashed, key_hash)

    async def _presented_key(
        self, request: Request, hashed: str
    ) -> Response | tuple[dict[str, object], str]:
        """The request's body and the key hash it presents; or the refusal."""
        # Every attempt counts against the client; only wrong keys count against the
        # link (in `_take`), so guessing at a link never locks its requester out.
        limited = await self._guard.limited(
            (f"reveal-client:{client_address(request)}", CLIENT_LIMIT)
        )
        if limited is not None:
            return await self._rate_limited(hashed, limited)
        data = await read_json(request)
        presented = data.get("key_hash") if data else None
        if data is None or not isinstance(presented, str) or not KEY_HASH.fullmatch(presented):
            await self._tickets.reveal_refused(hashed, "bad_request")
            return error(400, TEXT_BAD_REQUEST)
        return data, presented

    async def _take(self, link_id: str, hashed: str, key_hash: str) -> Response | Sealed:
        """The vault's ciphertext for this key; a wrong key counts against the link."""
        tickets = self._tickets
        try:
            return await self._services.vault.reveal(link_id, key_hash.lower())
        except RevealRefused as no:
            if no.reason == "bad_key":
                limited = await self._guard.limited((f"reveal-link:{hashed}", TARGET_LIMIT))
                if limited is not None:
                    return await self._rate_limited(hashed, limited)
                await tickets.reveal_refused(hashed, no.reason)
                return error(403, TEXT_BAD_KEY)
            if no.reason == "lost":
                await tickets.link_lost(hashed)
            await tickets.reveal_refused(hashed, no.reason)
            closed = self._closed(await tickets.link_status(hashed))
            return error(*(closed or (410, TEXT_GONE)))

    async def _hand_out(self, sealed: Sealed, hashed: str) -> Response:
        """The ciphertext is gone from the store now: whatever happens here, the requester
        must get it."""
        response = JSONResponse(
            {"ciphertext": sealed.ciphertext, "iv": sealed.iv, "aad": sealed.aad}
        )
        log.info("ticket %s: one-time link revealed", sealed.aad)
        try:
            await self._tickets.mark_received(link_hash=hashed)
        except Exception as exc:
            log.error("revealed ticket %s not marked received: %s", sealed.aad, type(exc).__name__)
        return response

    @property
    def _tickets(self) -> TicketService:
        return self._services.tickets

    async def _rate_limited(self, hashed: str, limited: Response) -> Response:
        """A 429, audited once per window (a flood of refusals writes one row)."""
        if await self._guard.first_in_window(f"rate_limited:{hashed}"):
            await self._services.tickets.reveal_refused(hashed, "rate_limited")
        return limited

    async def _check_user(self, data: dict[str, object], link: CredentialLink) -> Response | None:
        """With Web App init data (required by WEBAPP_BINDING), only the requester may reveal.

        The binding is Telegram's: a link sent to a requester on another channel (WhatsApp's
        CTA button) opens in a plain browser with no init data to check, so it is a bearer
        link there, one-time and expiring (docs/credential-delivery.md)."""
        tickets = self._services.tickets
        ticket = await tickets.get(link.ticket_id)
        requester = ticket.requester
        if requester.channel != TELEGRAM:
            return None
        user = telegram_user(data, self._bot_token, required=self._require_webapp)
        if user is None:
            return None
        if not isinstance(user, WebAppUser):
            await tickets.reveal_refused(link.link_hash, "webapp_invalid")
            return user
        if requester.platform_user_id != str(user.id):
            await tickets.reveal_refused(link.link_hash, "wrong_user")
            return error(403, TEXT_WRONG_USER)
        return None


def is_preview(request: Request) -> bool:
    """Whether a link-preview fetcher asks, by its user agent (PREVIEW_AGENT)."""
    return PREVIEW_AGENT.search(request.headers.get("user-agent", "")) is not None


def _closed_page(link: CredentialLink | None, status_code: int, text: str) -> Response:
    """The page of a link that can no longer be opened."""
    if status_code == 404:
        return closed_page(text, "Periksa kembali link yang Anda terima.", 404)
    if link is not None and link.state == "lost":
        return closed_page(t.LINK_LOST_TITLE, text, status_code)
    if status_code == 409:
        return closed_page("Link sedang dikirim", text + ".", 409, HINT_SENDING)
    return closed_page("Link tidak bisa dibuka", text + ".", status_code)
