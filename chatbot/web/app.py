"""The web app: one-time link pages (SOP step 8) and health checks.

`GET /s/{link_id}` only shows a page; it never consumes the link, so link-preview fetchers
(Telegram, WhatsApp, mail scanners) cannot burn it. The page's script reads the key from the
#fragment, which the browser never sends here, and proves it holds the key with a deliberate
`POST /s/{link_id}/reveal` carrying only the key's hash. The answer is ciphertext, decrypted
in the browser. Neither the link id nor the key is ever logged.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot.conversations.texts import clock
from chatbot.db.models import CredentialLink, Ticket, utcnow
from chatbot.services.credentials import CredentialVault, RevealRefused, link_hash
from chatbot.services.tickets import TicketService

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

# 16 random bytes in base64url, as CredentialVault.issue makes them.
_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_KEY_HASH = re.compile(r"^[0-9a-fA-F]{32}$")
_MAX_BODY = 1024

SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


TEXT_NOT_FOUND = "Link tidak ditemukan"
TEXT_REVOKED = "Link dibatalkan"
TEXT_EXPIRED = "Link kedaluwarsa, minta admin mengirim ulang"
TEXT_GONE = "Link sudah dibuka atau kedaluwarsa"
TEXT_BAD_KEY = (
    "Link tidak lengkap. Salin seluruh link dari pesan, termasuk bagian setelah tanda #, "
    "lalu buka lagi."
)
TEXT_BAD_REQUEST = "Permintaan tidak valid. Muat ulang halaman lalu coba lagi."
TEXT_BAD_ORIGIN = "Permintaan ditolak. Buka link langsung dari pesan yang Anda terima."
TEXT_UNAVAILABLE = "Layanan sedang bermasalah. Coba lagi beberapa saat lagi."


format_time = clock  # one date format for chat and pages


# ---- logging -------------------------------------------------------------------------------

_LINK_PATH = re.compile(r"/s/[^\s\"']*")


def redact(text: str) -> str:
    """Hide whatever follows /s/ (link id, and a key a chat app pushed into the path)."""
    return _LINK_PATH.sub("/s/***", text)


class RedactLinkPaths(logging.Filter):
    """Rewrite `/s/<anything>` to `/s/***` in log records (uvicorn's access log above all).

    Install it on uvicorn's handlers (see `uvicorn_log_config`) or on the
    "uvicorn.access" logger; it never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with `RedactLinkPaths` on both of its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_link_paths"] = {"()": RedactLinkPaths}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_link_paths")
    return config


# ---- headers on every response -----------------------------------------------------------


class SecurityHeaders:
    """Pure ASGI middleware: set the security headers on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        self._names = {name for name, _ in self._headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in self._names
                ]
                message["headers"] = headers + self._headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _WebApp(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware too, so even a 500 carries the headers.
        return SecurityHeaders(super().build_middleware_stack())


# ---- pages ---------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../static/style.css">
{script}</head>
<body>
<main class="card">
{body}
</main>
</body>
</html>
"""

_REVEAL_BODY = """<h1>Hasil permintaan Anda</h1>
<p>Halaman ini berisi hasil permintaan reset password dan/atau informasi User ID SPSE
yang Anda ajukan ke Admin Agency.</p>
<p class="notice">Link ini hanya bisa dibuka <strong>satu kali</strong>. Setelah ditampilkan,
isinya tidak bisa dilihat lagi, jadi siapkan diri untuk mencatat atau menyalinnya.</p>
<noscript><p class="error">Aktifkan JavaScript di browser Anda untuk membuka link ini.</p>
</noscript>
<div id="ready" hidden>
<button type="button" id="reveal" class="big">Tampilkan</button>
</div>
<p id="message" class="error" role="alert" hidden></p>
<section id="result" hidden aria-live="polite">
<h2>Data login SPSE Anda</h2>
<p id="ticket" class="muted" hidden></p>
<dl id="fields"></dl>
<p class="notice"><strong>Segera login ke SPSE dan ganti password ini. Jangan bagikan kepada
siapa pun.</strong></p>
<p class="muted">Link ini sekarang sudah tidak berlaku. Jika Anda belum sempat mencatatnya,
minta admin mengirim ulang.</p>
</section>"""

_CLOSED_BODY = """<h1>{heading}</h1>
<p>{detail}</p>
<p class="muted">Jika Anda memerlukan data login SPSE, hubungi Admin Agency melalui bot
untuk meminta link baru.</p>"""


def _page(title: str, body: str, *, script: bool = False, status_code: int = 200) -> HTMLResponse:
    tag = '<script src="../static/reveal.js" defer></script>\n' if script else ""
    return HTMLResponse(
        _PAGE.format(title=html.escape(title), script=tag, body=body), status_code=status_code
    )


def _closed_page(heading: str, detail: str, status_code: int) -> HTMLResponse:
    body = _CLOSED_BODY.format(heading=html.escape(heading), detail=html.escape(detail))
    return _page(heading, body, status_code=status_code)


def _closed_reason(
    link: CredentialLink | None, zone: ZoneInfo, now: datetime
) -> tuple[int, str] | None:
    """Why the link can no longer be opened (status code, Indonesian text); None if it can."""
    if link is None:
        return 404, TEXT_NOT_FOUND
    if link.opened_at is not None:
        return 410, f"Link ini sudah dibuka pada {format_time(link.opened_at, zone)}"
    if link.revoked_at is not None:
        return 410, TEXT_REVOKED
    if link.expires_at <= now:
        return 410, TEXT_EXPIRED
    return None


def _own_origin(request: Request) -> set[str]:
    host = request.headers.get("host", "")
    return {f"{scheme}://{host}" for scheme in ("http", "https")} if host else set()


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def create_web_app(
    *,
    vault: CredentialVault,
    tickets: TicketService,
    on_revealed: Callable[[Ticket], Awaitable[None]],
    readiness: Callable[[], Awaitable[bool]] | None = None,
    zone: ZoneInfo,
    public_url: str | None = None,
) -> Starlette:
    """Build the app. `public_url` (PUBLIC_URL) is accepted as an origin for reveals besides the
    request's own Host, for a reverse proxy that rewrites Host."""
    trusted_origins = {_origin_of(public_url)} if public_url else set()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready = True
        if readiness is not None:
            try:
                ready = await readiness()
            except Exception as exc:
                logger.warning("readiness check failed: %s", type(exc).__name__)
                ready = False
        if ready:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def link_page(request: Request) -> Response:
        # A chat app may have turned "#" into "%23": the key then arrives in the path. Ignore
        # it here (the page's script repairs the URL); never log it.
        link_id = str(request.path_params["link_id"]).split("#", 1)[0]
        if not _LINK_ID.fullmatch(link_id):
            return _closed_page(TEXT_NOT_FOUND, "Periksa kembali link yang Anda terima.", 404)
        try:
            link = await tickets.link_status(link_hash(link_id))
        except Exception as exc:
            logger.error("link page: status lookup failed: %s", type(exc).__name__)
            return _closed_page("Layanan sedang bermasalah", TEXT_UNAVAILABLE, 503)
        closed = _closed_reason(link, zone, utcnow())
        if closed is not None:
            status_code, text = closed
            if status_code == 404:
                return _closed_page(text, "Periksa kembali link yang Anda terima.", 404)
            return _closed_page("Link tidak bisa dibuka", text + ".", status_code)
        return _page("Hasil permintaan Anda", _REVEAL_BODY, script=True)

    def _error(status_code: int, text: str) -> JSONResponse:
        return JSONResponse({"error": text}, status_code=status_code)

    async def _read_key_hash(request: Request) -> str | None:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_BODY:
                return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        presented = data.get("key_hash")
        if not isinstance(presented, str) or not _KEY_HASH.fullmatch(presented):
            return None
        return presented.lower()

    async def reveal(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return _error(415, TEXT_BAD_REQUEST)
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in _own_origin(request) | trusted_origins:
            return _error(403, TEXT_BAD_ORIGIN)
        link_id = str(request.path_params["link_id"])
        if not _LINK_ID.fullmatch(link_id):
            return _error(404, TEXT_NOT_FOUND)
        try:
            presented = await _read_key_hash(request)
        except ClientDisconnect:
            return _error(400, TEXT_BAD_REQUEST)
        if presented is None:
            return _error(400, TEXT_BAD_REQUEST)
        hashed = link_hash(link_id)
        try:
            # The database has the last word on revoked or expired links, even while the
            # store still holds the ciphertext.
            closed = _closed_reason(await tickets.link_status(hashed), zone, utcnow())
            if closed is not None:
                return _error(*closed)
            try:
                sealed = await vault.reveal(link_id, presented)
            except RevealRefused as refused:
                if refused.reason == "bad_key":
                    return _error(403, TEXT_BAD_KEY)
                closed = _closed_reason(await tickets.link_status(hashed), zone, utcnow())
                return _error(*(closed or (410, TEXT_GONE)))
        except Exception as exc:
            # Exception texts may quote the store key, which holds the link id: keep them out.
            logger.error("reveal failed: %s", type(exc).__name__)
            return _error(503, TEXT_UNAVAILABLE)

        # The ciphertext is gone from the store now: whatever happens below, the requester
        # must get it.
        response = JSONResponse(
            {"ciphertext": sealed.ciphertext, "iv": sealed.iv, "aad": sealed.aad}
        )
        try:
            ticket = await tickets.mark_received(link_hash=hashed)
        except Exception as exc:
            logger.error(
                "revealed ticket %s not marked received: %s", sealed.aad, type(exc).__name__
            )
            return response
        if ticket is not None:
            try:
                await on_revealed(ticket)
            except Exception:
                logger.exception("after-reveal handling failed for ticket %s", ticket.number)
        return response

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/s/{link_id}", link_page, methods=["GET"]),
        Route("/s/{link_id}/reveal", reveal, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return _WebApp(routes=routes)
