"""Checks every state-changing request passes: JSON only, same origin, small body, rate limits,
and the optional Telegram Web App binding."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from chatbot.services.ratelimit import Decision, Limit, RateLimiter
from chatbot.services.webapp_auth import InvalidInitData, WebAppUser, verify_init_data
from chatbot.store import Store

TEXT_BAD_REQUEST = "Permintaan tidak valid. Muat ulang halaman lalu coba lagi."
TEXT_BAD_ORIGIN = "Permintaan ditolak. Buka link langsung dari pesan yang Anda terima."
TEXT_TOO_MANY = "Terlalu banyak percobaan. Tunggu {seconds} detik lalu coba lagi."
TEXT_UNAVAILABLE = "Layanan sedang bermasalah. Coba lagi beberapa saat lagi."
TEXT_OPEN_IN_TELEGRAM = "Buka link ini lewat tombol di chat Telegram Anda dengan bot."
TEXT_WRONG_USER = "Link ini bukan untuk akun Telegram Anda."

# Per client (its address as the proxy reports it) and per link or form.
CLIENT_LIMIT = Limit(count=20, window=timedelta(minutes=1))
PAGE_LIMIT = Limit(count=120, window=timedelta(minutes=1))
TARGET_LIMIT = Limit(count=10, window=timedelta(minutes=15))
INIT_DATA_MAX_AGE = timedelta(hours=1)
MAX_BODY = 8192  # init data is up to 4096 characters


def error(status_code: int, text: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status_code, headers=headers or None)


def client_address(request: Request) -> str:
    """The client's address as uvicorn reports it (behind the proxy: X-Forwarded-For, trusted
    from FORWARDED_ALLOW_IPS only). IPv6 clients count per /64, the block one home or phone
    gets, so rotating addresses within it does not escape the limit."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Guard:
    def __init__(self, limiter: RateLimiter, store: Store, public_url: str | None) -> None:
        self._limiter = limiter
        self._store = store
        self._trusted = {origin_of(public_url)} if public_url else set()

    async def first_in_window(self, what: str) -> bool:
        """True once per TARGET_LIMIT window for `what`: keeps a flood of refused requests
        from writing a flood of audit rows."""
        return await self._store.set_if_absent(f"once:{what}", b"1", TARGET_LIMIT.window)

    def bad_origin(self, request: Request) -> JSONResponse | None:
        """A POST must come from our own pages (CSRF): JSON and, when sent, our Origin."""
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return error(415, TEXT_BAD_REQUEST)
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        own = {f"{scheme}://{host}" for scheme in ("http", "https")} if host else set()
        if origin is not None and origin.lower() not in own | self._trusted:
            return error(403, TEXT_BAD_ORIGIN)
        return None

    async def limited(self, *buckets: tuple[str, Limit]) -> JSONResponse | None:
        """429 with Retry-After when any bucket is exhausted; every bucket counts the hit."""
        worst: Decision | None = None
        for bucket, limit in buckets:
            decision = await self._limiter.hit(bucket, limit)
            if not decision.allowed and (worst is None or decision.retry_after > worst.retry_after):
                worst = decision
        if worst is None:
            return None
        seconds = str(worst.retry_after)
        return error(429, TEXT_TOO_MANY.format(seconds=seconds), **{"Retry-After": seconds})

    async def hit_page(self, request: Request) -> bool:
        """GETs are cheap but not free: a client fetching pages in a loop is slowed down."""
        decision = await self._limiter.hit(f"page:{client_address(request)}", PAGE_LIMIT)
        return decision.allowed


async def read_json(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object, or None when too big, broken or not an object."""
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None
    except ClientDisconnect:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def telegram_user(
    data: dict[str, Any], bot_token: str | None, *, required: bool
) -> WebAppUser | JSONResponse | None:
    """The Telegram user the page was opened by (Web App init data), checked against our
    bot token. None when not opened as a Web App and not required; an error response when
    the data is missing but required, or present but not genuine."""
    init_data = data.get("init_data")
    if not init_data:
        return error(403, TEXT_OPEN_IN_TELEGRAM) if required else None
    if not isinstance(init_data, str) or bot_token is None:
        return error(403, TEXT_OPEN_IN_TELEGRAM)
    try:
        return verify_init_data(init_data, bot_token, max_age=INIT_DATA_MAX_AGE)
    except InvalidInitData:
        return error(403, TEXT_OPEN_IN_TELEGRAM)
