"""WhatsApp's webhook: the GET handshake, and POSTs signed by Meta, size-limited, split into
their messages and statuses and answered 200 only once every one is committed to the inbox
(anything else makes Meta deliver the body again, for up to 7 days).

The web layer knows no channel: the route is given the parser (`split`, raising ValueError
for a body not of the Cloud API's shape) and the channel's door (`receive`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from chatbot.services.inbox import UnstorableUpdate
from chatbot.web.bodies import NotJson, json_within, read_limited

log = logging.getLogger(__name__)

WHATSAPP_WEBHOOK_PATH = "/whatsapp/webhook"
SIGNATURE_HEADER = "x-hub-signature-256"
# Meta's webhook payloads are at most 3 MB.
MAX_BODY_BYTES = 3 * 1024 * 1024
# A Cloud API body nests about ten levels (entry, changes, value, messages, interactive, ...).
MAX_DEPTH = 64
# Meta's challenge is a number; echo nothing else.
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{1,256}")

Split = Callable[[object], list[dict[str, Any]]]
Receive = Callable[[Sequence[dict[str, Any]]], Awaitable[int]]


def signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends with `body`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _refuse(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


class _Refused(Exception):
    """A webhook call answered with an error (`status`, a short `text`)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class _Webhook:
    """The route's checks in the order they run: signature (on the raw bytes), size, JSON,
    shape, storing."""

    def __init__(self, receive: Receive, split: Split, app_secret: str, verify_token: str) -> None:
        self._receive = receive
        self._split = split
        self._app_secret = app_secret
        self._token = verify_token.encode()

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return self.handshake(request)
        try:
            body = await self.signed_body(request)
            await self.store(self.updates(body))
        except _Refused as refused:
            return _refuse(refused.status, refused.text)
        return Response(status_code=200)

    def handshake(self, request: Request) -> Response:
        """Meta subscribes the URL: echo its challenge if it knows our verify token."""
        params = request.query_params
        given = params.get("hub.verify_token", "").encode()
        if params.get("hub.mode") != "subscribe" or not hmac.compare_digest(given, self._token):
            log.warning("WhatsApp webhook handshake without the right verify token refused")
            return _refuse(403, "forbidden")
        challenge = params.get("hub.challenge", "")
        if not CHALLENGE.fullmatch(challenge):
            return _refuse(400, "no challenge")
        return PlainTextResponse(challenge)

    async def signed_body(self, request: Request) -> bytes:
        """The raw body, once its signature is right; `_Refused` says why not."""
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            log.warning("WhatsApp webhook call without a signature refused")
            raise _Refused(403, "forbidden")
        try:
            body = await read_limited(request, MAX_BODY_BYTES)
        except ClientDisconnect:
            raise _Refused(400, "incomplete body") from None
        if body is None:
            raise _Refused(413, "body too large")
        expected = signature(self._app_secret, body).encode()
        if not hmac.compare_digest(given.strip().lower().encode(), expected):
            log.warning("WhatsApp webhook call with a wrong signature refused")
            raise _Refused(403, "forbidden")
        return body

    def updates(self, body: bytes) -> list[dict[str, Any]]:
        """The body's raw updates; `_Refused` (400) for anything not a Cloud API body."""
        try:
            data = json_within(body, MAX_DEPTH)
        except NotJson as refused:
            raise _Refused(400, str(refused)) from None
        try:
            return self._split(data)
        except ValueError as malformed:
            log.warning("a malformed WhatsApp webhook body was refused: %s", malformed)
            raise _Refused(400, "not a WhatsApp webhook body") from None

    async def store(self, raws: list[dict[str, Any]]) -> None:
        """Commit every update of the body; `_Refused` when they are not stored."""
        if not raws:  # e.g. another field's change: nothing of ours
            return
        try:
            await self._receive(raws)
        except UnstorableUpdate as refused:  # it would fail again on every delivery
            log.warning("a WhatsApp update that cannot be stored was refused: %s", refused)
            raise _Refused(400, "not storable") from None
        except Exception as error:  # not stored: Meta must try again later
            log.error("a WhatsApp webhook body could not be stored: %s", type(error).__name__)
            raise _Refused(503, "try again") from None


def whatsapp_webhook_route(
    receive: Receive, split: Split, *, app_secret: str, verify_token: str
) -> Route:
    """GET: Meta's subscription handshake. POST: a signed body into the inbox."""
    webhook = _Webhook(receive, split, app_secret, verify_token)
    return Route(WHATSAPP_WEBHOOK_PATH, webhook.endpoint, methods=["GET", "POST"])
