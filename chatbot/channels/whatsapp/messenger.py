"""The Messenger port over WhatsApp's Cloud API (pywa_async as the HTTP client): paced,
rendered within Meta's limits (render.py), refusals classified as our DeliveryError.

pywa is used for its calls and its typed errors only: the webhook is read by our own parser
(parse.py) and every message body is built by render.py, so the limits are ours to check.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pywa_async.client import WhatsApp
from pywa_async.errors import WhatsAppError

from chatbot.channels.pacing import Pacer
from chatbot.channels.whatsapp.parse import CHANNEL
from chatbot.channels.whatsapp.render import CAPTION_MAX, Outgoing, render, shorten
from chatbot.channels.whatsapp.templates import (
    TemplateCheck,
    check,
    list_templates,
    quick_reply_count,
)
from chatbot.conversations.messages import DeliveryError, OutgoingFile, Reply, TemplateNotice
from chatbot.metrics import record_platform_error
from chatbot.services.identity import InputProblem, InvalidInput

log = logging.getLogger(__name__)

# pywa logs whole request bodies at DEBUG, and the one-time link is in one: never let them out.
for _name in ("pywa", "pywa_async"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def _not_pywas_client_advice(record: logging.LogRecord) -> bool:
    """pywa warns on every network failure to "provide your own httpx.Client": we do; our
    own line says what failed."""
    return not str(record.msg).startswith("You may want to provide your own")


for _name in ("pywa.api", "pywa_async.api"):
    logging.getLogger(_name).addFilter(_not_pywas_client_advice)

GRAPH_HOST = "graph.facebook.com"
# Meta's answers that say "this message can never be sent as it is".
WINDOW_CLOSED = 131047  # outside the 24-hour customer-service window
UNDELIVERABLE = 131026  # not on WhatsApp, an old app, terms not accepted
RATE_LIMITED = 130429  # the number's throughput
PAIR_RATE_LIMITED = 131056  # too many messages to one user
TOKEN_INVALID = 190
PAIR_RATE_BACKOFF = 6.0  # about one message per 6 s to one user
RATE_BACKOFF = 1.0
SERVER_CODES = frozenset({1, 2, 131000, 131016})  # unknown error, service unavailable
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})  # what WhatsApp shows as a photo
WINDOW = timedelta(hours=24)  # free-form messages only this long after the user's last one
T = TypeVar("T")


class GraphRedirect(httpx.AsyncBaseTransport):
    """Sends pywa's calls for graph.facebook.com to WHATSAPP_API_URL (a proxy, or a test
    double); pywa hard-codes the host. Other hosts (media URLs) go where they point."""

    def __init__(self, base_url: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = httpx.URL(base_url)
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == GRAPH_HOST:
            base = self._base
            path = base.path.rstrip("/") + request.url.path
            request.url = request.url.copy_with(
                scheme=base.scheme, host=base.host, port=base.port, path=path
            )
            request.headers["host"] = base.netloc.decode()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def whatsapp_client(
    *,
    phone_id: str,
    token: str,
    api_version: str,
    api_url: str = f"https://{GRAPH_HOST}",
    transport: httpx.AsyncBaseTransport | None = None,
) -> WhatsApp:
    """pywa's client for sending only (no server, no handlers): its own httpx client, since
    pywa writes the Authorization header onto it. `transport`: tests' fake Graph API."""
    if transport is None and api_url.rstrip("/") != f"https://{GRAPH_HOST}":
        transport = GraphRedirect(api_url)
    session = httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False
    )
    return WhatsApp(
        phone_id=phone_id,
        token=token,
        api_version=api_version.removeprefix("v"),
        session=session,
    )


def delivery_error(error: Exception, method: str) -> DeliveryError:
    """Meta's refusal as ours. A closed window (`window`) is permanent for the rich message:
    the outbox sender sends the notice's template instead, or holds the row."""
    kind, permanent, retry = "network", False, None
    if isinstance(error, WhatsAppError):
        code, status = error.code, error.status_code or 400
        if code == WINDOW_CLOSED:
            kind, permanent = "window", True
        elif code == UNDELIVERABLE:
            kind, permanent = "blocked", True  # the "unreachable" path tells the admins
        elif code in (RATE_LIMITED, PAIR_RATE_LIMITED):
            kind = "rate_limited"
            retry = PAIR_RATE_BACKOFF if code == PAIR_RATE_LIMITED else RATE_BACKOFF
        elif status >= 500 or code in SERVER_CODES:
            kind = "server_error"
        elif code == TOKEN_INVALID:  # nothing goes out until the token is fixed: keep rows
            kind = "server_error"
            log.error("WhatsApp refused the token (190): check WHATSAPP_TOKEN")
        else:  # 131009 invalid parameter, 100 invalid request, ...
            kind, permanent = "bad_request", True
        reason = f"({code}) {error.message or type(error).__name__}"
    elif isinstance(error, httpx.TimeoutException):
        kind, reason = "timeout", "timed out"
    else:
        reason = type(error).__name__
    record_platform_error(CHANNEL, method, kind)
    return DeliveryError(reason, permanent=permanent, retry_after=retry, kind=kind)


class WhatsAppMessenger:
    """Every message paced in the shared store; `wait=False` raises Throttled instead of
    waiting (for the outbox sender, which moves on to other chats).

    `templates`: notice kind -> approved template name (WHATSAPP_TEMPLATES), in `language`;
    what the sender sends when the requester's 24-hour window is closed."""

    window = WINDOW

    def __init__(
        self,
        client: WhatsApp,
        pacer: Pacer,
        *,
        max_download: int,
        wait: bool = True,
        templates: Mapping[str, str] | None = None,
        language: str = "id",
    ) -> None:
        self._client = client
        self._pacer = pacer
        self._max_download = max_download
        self._wait = wait
        self._templates = dict(templates or {})
        self._language = language

    def deferring(self) -> WhatsAppMessenger:
        return WhatsAppMessenger(
            self._client,
            self._pacer,
            max_download=self._max_download,
            wait=False,
            templates=self._templates,
            language=self._language,
        )

    @property
    def _phone_id(self) -> str:
        return str(self._client.phone_id)

    async def close(self) -> None:
        await self._client.api._session.aclose()

    async def _call(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (WhatsAppError, httpx.HTTPError) as error:
            raise delivery_error(error, method) from None

    async def _post(self, chat_id: str, message: Outgoing, reply_to: str | None = None) -> str:
        """Pace, send one message, return its wamid."""
        await self._pacer.turn(chat_id, group=False, wait=self._wait)
        # A chat is the user's number (digits), or their business-scoped user id.
        number = chat_id.isdigit()
        answer: dict[str, Any] = await self._call(
            "messages",
            lambda: self._client.api.send_message(
                sender=self._phone_id,
                to=chat_id if number else None,
                recipient=None if number else chat_id,
                recipient_type="individual",
                typ=message.kind,
                msg=message.payload,
                reply_to_message_id=reply_to,
            ),
        )
        return str(answer["messages"][0]["id"])

    # ---- the port --------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        """Send the reply (one message, rarely more); the id of the last, which carries the
        buttons. Content protection and force-reply have no WhatsApp equivalent."""
        wamid = ""
        for index, message in enumerate(render(reply)):
            wamid = await self._post(chat_id, message, reply_to if index == 0 else None)
        return wamid

    async def mark_read(self, message_id: str) -> bool:
        """Show the person's message as read, with the typing indicator (until our answer
        or 25 s). Best effort: skipped (False) when the number's budget has no slot free
        now; Meta's refusal raises DeliveryError."""
        if not await self._pacer.spare():
            return False
        api = self._client.api
        await self._call(
            "read",
            lambda: api.set_indicator(phone_id=self._phone_id, message_id=message_id, typ="text"),
        )
        return True

    async def send_template(self, chat_id: str, notice: TemplateNotice) -> str:
        """The notice's approved template, the ticket number its body parameter and the
        rich buttons' data its quick replies' payloads (as many as the kind's template has,
        templates.py); a kind without one is DeliveryError `no_template` (the sender holds
        the row)."""
        name = self._templates.get(notice.kind)
        if name is None:
            raise DeliveryError(
                f"no WhatsApp template for {notice.kind}", permanent=False, kind="no_template"
            )
        template: dict[str, Any] = {"name": name, "language": {"code": self._language}}
        texts = ([notice.ticket_number] if notice.ticket_number else []) + list(notice.parameters)
        components: list[dict[str, Any]] = []
        if texts:
            parameters = [{"type": "text", "text": text} for text in texts]
            components.append({"type": "body", "parameters": parameters})
        quick_replies = notice.quick_replies[: quick_reply_count(notice.kind)]
        for index, payload in enumerate(quick_replies):
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": payload}],
                }
            )
        if components:
            template["components"] = components
        return await self._post(chat_id, Outgoing("template", template))

    async def check_templates(self, waba_id: str) -> TemplateCheck:
        """WHATSAPP_TEMPLATES against the templates Meta lists for the account. Raises
        pywa's WhatsAppError or httpx's errors when Meta cannot be asked."""
        found = await list_templates(self._client, waba_id)
        return check(self._templates, self._language, found)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        """WhatsApp cannot edit a message: the new version is sent anew."""
        await self.send(chat_id, reply)

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        """Each file uploaded (a media id), then sent as a document or a photo."""
        ids: list[str] = []
        for file in files:
            content = await asyncio.to_thread(Path(file.path).read_bytes)
            mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            uploaded = await self._call("media", partial(self._upload, content, mime, file.name))
            photo = file.photo and mime in IMAGE_TYPES
            payload: dict[str, str] = {"id": uploaded["id"]}
            if not photo:
                payload["filename"] = file.name
            if file.caption:
                payload["caption"] = shorten(file.caption, CAPTION_MAX)
            kind = "image" if photo else "document"
            ids.append(await self._post(chat_id, Outgoing(kind, payload), reply_to))
        return ids

    async def _upload(self, content: bytes, mime: str, name: str) -> dict[str, str]:
        return await self._client.api.upload_media(
            phone_id=self._phone_id, media=content, mime_type=mime, filename=name
        )

    async def delete(self, chat_id: str, message_id: str) -> None:
        """WhatsApp cannot delete a sent message: nothing to do."""

    async def download(self, file_id: str) -> bytes:
        """A sent file's bytes by its media id, at once (its URL lives 5 minutes). The
        webhook gives no size: the download stops at the upload limit, as the size check
        does on Telegram (InvalidInput FILE_TOO_BIG, so the requester is told)."""
        api = self._client.api
        info: dict[str, Any] = await self._call("media", lambda: api.get_media_url(file_id))
        size = info.get("file_size")
        if isinstance(size, int) and size > self._max_download:
            raise self._too_big()
        return await self._call("media_download", lambda: self._stream(str(info["url"])))

    async def _stream(self, url: str) -> bytes:
        received = bytearray()
        async with self._client.api.stream_media_bytes(url) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > self._max_download:
                    raise self._too_big()
        return bytes(received)

    def _too_big(self) -> InvalidInput:
        return InvalidInput(InputProblem.FILE_TOO_BIG, max_mb=self._max_download // 2**20)
