"""Telegram's webhook: checked, size-limited, and answered 200 only once the update is
committed to the inbox (anything else makes Telegram deliver it again)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatbot.services.inbox import UnstorableUpdate
from chatbot.web.bodies import NotJson, json_within, read_limited

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header name)
# Updates are small (a 4096-character message with its entities is a few kB): 256 kB is ample.
MAX_UPDATE_BYTES = 256 * 1024
# Telegram's updates nest about ten levels (a reply's quoted message's entities); anything far
# deeper is refused before storing and handling have to recurse through it.
MAX_DEPTH = 64

Receive = Callable[[Sequence[dict[str, Any]]], Awaitable[int]]


def _refuse(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


class _Refused(Exception):
    """A webhook call answered with an error (`status`, a short `text`)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


async def _update(request: Request) -> dict[str, Any]:
    """The request's update, read and checked; `_Refused` says why not."""
    try:
        body = await read_limited(request, MAX_UPDATE_BYTES)
    except ClientDisconnect:
        raise _Refused(400, "incomplete body") from None
    if body is None:
        raise _Refused(413, "update too large")
    try:
        data = json_within(body, MAX_DEPTH)
    except NotJson as refused:
        raise _Refused(400, str(refused)) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("update_id"), int)
        or isinstance(data.get("update_id"), bool)
    ):
        raise _Refused(400, "not an update")
    return data


async def _store(receive: Receive, update: dict[str, Any]) -> None:
    """Commit the update to the inbox; `_Refused` when it is not stored."""
    try:
        await receive([update])
    except UnstorableUpdate as refused:  # it would fail again on every delivery
        log.warning("an update that cannot be stored was refused: %s", refused)
        raise _Refused(400, "not an update") from None
    except Exception as error:  # not stored: Telegram must try again later
        log.error("an update could not be stored: %s", type(error).__name__)
        raise _Refused(503, "try again") from None


def webhook_route(receive: Receive, secret: str) -> Route:
    expected = secret.encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook call without the right secret refused")
            return _refuse(403, "forbidden")
        try:
            await _store(receive, await _update(request))
        except _Refused as refused:
            return _refuse(refused.status, refused.text)
        return Response(status_code=200)

    return Route(WEBHOOK_PATH, endpoint, methods=["POST"])
