"""What every response and log line of the web app must honour: security headers, no link
paths in logs."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

# ---- logging -------------------------------------------------------------------------------

_LINK_PATH = re.compile(r"/([sf])/[^\s\"']*")


def redact(text: str) -> str:
    """Hide whatever follows /s/ or /f/ (a link id, a form token, a key a chat app pushed into
    the path)."""
    return _LINK_PATH.sub(r"/\1/***", text)


class RedactLinkPaths(logging.Filter):
    """Rewrite `/s/<anything>`, `/f/<anything>` to `/s/***`, `/f/***` in log records.

    Above all uvicorn's access log.

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


class WebApp(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware too, so even a 500 carries the headers.
        return SecurityHeaders(super().build_middleware_stack())
