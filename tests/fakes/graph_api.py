"""A strict, in-process fake of Meta's WhatsApp Cloud API (Graph API) over real HTTP.

The bot's client talks to it as to ``https://graph.facebook.com``:

* a plain httpx client: ``httpx.AsyncClient(base_url=fake.base_url)`` and paths such as
  ``/v23.0/{phone_number_id}/messages``;
* pywa (``pywa_async``), which hard-codes ``https://graph.facebook.com/v{api_version}`` as
  the ``base_url`` of the session it is given and writes its Authorization header onto it:
  ``WhatsApp(phone_id=..., token=fake.token, api_version="23.0",
  session=httpx.AsyncClient(transport=fake.transport()))``.  The transport rewrites
  ``graph.facebook.com`` (and ``lookaside.fbsbx.com``) to this server and refuses any other
  host, so nothing leaves the machine.  The media URLs the fake hands out point at itself.

Whatever Meta documents as out of bounds (button counts and lengths, list rows, body sizes,
unknown templates, wrong parameter counts, a free-form message outside the 24-hour window) is
refused with Meta's error shape and code *and* recorded in ``fake.violations``.  Faults a
test asks for (``fail_next``: 130429, 131056, 131026, 5xx) are not violations.  Tests play
the WhatsApp users with ``user_sends_text`` & co., which POST signed webhook bodies to
``webhook_url`` (or just return them when it is None).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import graph_api_limits as limits
from tests.fakes.bot_api import _Signal
from tests.fakes.graph_api_http import GraphRedirect, multipart_fields, serve_locally, version_ok
from tests.fakes.graph_api_models import (
    FakeTemplate,
    GraphCall,
    GraphError,
    JsonDict,
    SentMessage,
)
from tests.fakes.graph_api_users import FakeWhatsAppUsers
from tests.fakes.graph_api_webhooks import Metadata

__all__ = ["FakeGraphApi", "GraphRedirect"]

MEDIA_URL_SECONDS = 5 * 60
UPLOAD_LIMITS = {"image": 5 * 2**20, "document": 100 * 2**20}
UPLOAD_TYPES = {"image/jpeg": "image", "image/png": "image"}
ATTACHMENTS_PATH = "/whatsapp_business/attachments/"


@dataclass
class _Fault:
    error: GraphError
    to: str | None
    later: bool  # accept with 200, then a ``failed`` status carries the error


class FakeGraphApi(FakeWhatsAppUsers):
    """Strict local WhatsApp Cloud API server; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = "EAAfaketoken",
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "6281100000000",
        waba_id: str = "102290129340398",
        app_secret: str = "fake-app-secret",
        webhook_url: str | None = None,
        api_version: str | None = None,
    ) -> None:
        super().__init__(Metadata(waba_id, phone_number_id, display_phone_number), app_secret)
        self.token = token
        self.webhook_url = webhook_url
        self.api_version = api_version  # e.g. "v23.0"; None accepts any vNN.N
        self.window_is_violation = True
        self.calls: list[GraphCall] = []
        self.violations: list[str] = []
        self.read_receipts: list[tuple[str, bool]] = []  # (message id, typing indicator)
        self.templates: dict[tuple[str, str], FakeTemplate] = {}
        # Called with each request before it is handled; True drops it unanswered and
        # unrecorded (a system test SIGKILLs the bot there, as FakeBotApi.before_call).
        self.before_call: Callable[[GraphCall], bool] | None = None
        self._faults: deque[_Fault] = deque()
        self._read_faults: deque[GraphError] = deque()
        self._ids = itertools.count(1)
        self._url_key = secrets.token_bytes(16)
        self._signal = _Signal()
        self._app = Starlette(
            routes=[
                Route(ATTACHMENTS_PATH, self._download, methods=["GET"]),
                Route("/{version}/{phone_id}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{phone_id}/media", self._upload, methods=["POST"]),
                Route("/{version}/{waba_id}/message_templates", self._templates, methods=["GET"]),
                Route("/{version}/{media_id}", self._media, methods=["GET", "DELETE"]),
                Route("/{path:path}", self._unsupported, methods=["GET", "POST", "DELETE"]),
            ]
        )
        self._server: uvicorn.Server | None = None
        self.port = 0

    # ================================================================== lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on an ephemeral port and start serving."""
        self._server, self.port = await serve_locally(self._app)

    async def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.should_exit = True
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> FakeGraphApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Stands in for ``https://graph.facebook.com`` (``WHATSAPP_API_URL``)."""
        return f"http://127.0.0.1:{self.port}"

    def transport(self) -> GraphRedirect:
        """An httpx transport that sends ``graph.facebook.com`` calls here (for pywa)."""
        return GraphRedirect(self.port)

    # ================================================================== scripting

    def add_template(
        self,
        name: str,
        body: str,
        *,
        language: str = "id",
        header: str | None = None,
        quick_replies: tuple[str, ...] = (),
        category: str = "UTILITY",
        status: str = "APPROVED",
    ) -> FakeTemplate:
        """Add a template (approved unless ``status`` says otherwise: it is then listed with
        that status); its parameter counts are the ``{{n}}`` in header and body."""
        template = FakeTemplate(
            name,
            language,
            body,
            header,
            quick_replies,
            category,
            id=str(next(self._ids)),
            status=status,
        )
        self.templates[name, language] = template
        return template

    def fail_next(
        self,
        code: int,
        *,
        to: str | None = None,
        later: bool = False,
        status: int | None = None,
    ) -> None:
        """Make the next valid send (to ``to``, if given) fail with ``code``: 130429,
        131056, 131026, 1/2 (5xx)...  ``later`` accepts it with 200 and queues a ``failed``
        status with the code instead (deliver it with ``flush_statuses``)."""
        self._faults.append(_Fault(GraphError(code, status=status), to, later))

    def fail_next_read(self, code: int, *, status: int | None = None) -> None:
        """Make the next valid read receipt / typing indicator call fail with ``code``."""
        self._read_faults.append(GraphError(code, status=status))

    # ================================================================== observing

    def sent_to(self, wa_id: str) -> list[SentMessage]:
        """Everything the bot sent to the user, in order (reactions included)."""
        return [m for m in self.sent if m.to == wa_id]

    def last_sent(self, wa_id: str) -> SentMessage:
        """The latest message the bot sent to the user."""
        sent = self.sent_to(wa_id)
        if not sent:
            msg = f"the bot sent nothing to {wa_id}; recent calls:\n{self.recent_calls()}"
            raise AssertionError(msg)
        return sent[-1]

    def message(self, wamid: str) -> SentMessage:
        """A sent message by its wamid."""
        return next(m for m in self.sent if m.wamid == wamid)

    def calls_to(self, path_suffix: str, method: str | None = None) -> list[GraphCall]:
        """Calls whose path ends with ``path_suffix`` (e.g. ``/messages``)."""
        return [
            c
            for c in self.calls
            if c.path.endswith(path_suffix) and (method is None or c.method == method)
        ]

    def assert_no_violations(self) -> None:
        """Fail with every recorded violation."""
        if self.violations:
            listing = "\n".join(f"  - {v}" for v in self.violations)
            msg = f"the bot made invalid Cloud API requests:\n{listing}"
            raise AssertionError(msg)

    async def wait_until(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever a call was answered)."""
        await self._signal.wait_for(predicate, timeout)

    async def wait_for_sent(self, wa_id: str, count: int = 1, timeout: float = 5.0) -> SentMessage:
        """Wait until the bot has sent ``count`` messages to the user; returns the last."""
        try:
            await self._signal.wait_for(lambda: len(self.sent_to(wa_id)) >= count, timeout)
        except TimeoutError:
            msg = f"{wa_id} got {len(self.sent_to(wa_id))}/{count} messages within {timeout}s"
            raise AssertionError(f"{msg}; recent calls:\n{self.recent_calls()}") from None
        return self.sent_to(wa_id)[count - 1]

    def recent_calls(self, limit: int = 20) -> str:
        """The last calls and the violations, for failure messages."""
        lines = [f"  {c.summary()}" for c in self.calls[-limit:]] or ["  (none)"]
        lines.extend(f"  violation: {v}" for v in self.violations)
        return "\n".join(lines)

    # ================================================================== HTTP layer

    async def _serve(
        self, request: Request, handler: Callable[[GraphCall, bytes], Awaitable[Response]]
    ) -> Response:
        """Authenticate, record, and turn a :class:`GraphError` into Meta's answer."""
        raw = await request.body()
        body: Any = raw[:200]
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw[:200]
        call = GraphCall(len(self.calls), request.method, request.url.path, body, self.now())
        if self.before_call is not None and self.before_call(call):
            return Response(status_code=502)
        try:
            self._check_auth(request)
            version = request.path_params.get("version")
            if version is not None and not version_ok(version, self.api_version):
                raise limits.invalid(f"unknown or unexpected API version {version!r}", 100)
            response = await handler(call, raw)
        except GraphError as err:
            call.status, call.error_code = err.status, err.code
            if err.violation:
                self.violations.append(f"{call.method} {call.path}: {err} (body: {call.body!r})")
            response = JSONResponse(err.to_json(secrets.token_urlsafe(12)), err.status)
        else:
            call.status = response.status_code
        self.calls.append(call)
        self._signal.notify()
        return response

    def _check_auth(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise GraphError(190, violation=True)

    async def _unsupported(self, request: Request) -> Response:
        async def refuse(call: GraphCall, raw: bytes) -> Response:
            raise limits.invalid(f"{call.method} {call.path} is not supported by the fake", 100)

        return await self._serve(request, refuse)

    async def _messages(self, request: Request) -> Response:
        return await self._serve(request, self._send)

    async def _send(self, call: GraphCall, raw: bytes) -> Response:
        self._check_phone(call)
        body = call.body
        if isinstance(body, dict) and "status" in body:
            return self._mark_read(body)
        to, kind, payload = limits.check_envelope(body)
        if kind == "text":
            limits.check_text(payload)
        elif kind == "interactive":
            limits.check_interactive(payload)
        elif kind in limits.MEDIA_TYPES:
            limits.check_media(
                kind, payload, {k: v for k, v in self.media.items() if not v.deleted}
            )
        elif kind == "template":
            limits.check_template(payload, self.templates)
        else:
            limits.check_reaction(payload)
        fault = self._take_fault(to)
        if fault is not None and not fault.later:
            raise fault.error
        if to in self.undeliverable:
            raise GraphError(131026)
        if kind != "template" and not self.window_open(to):
            raise GraphError(131047, violation=self.window_is_violation)
        message = SentMessage(
            wamid=self._wamid(to),
            to=to,
            type=kind,
            payload=payload,
            time=self.now(),
            tracker=body.get("biz_opaque_callback_data"),
            reply_to=(body.get("context") or {}).get("message_id"),
        )
        self.sent.append(message)
        if fault is not None:
            self.pending_statuses.append(self.status_item(message.wamid, "failed", fault.error))
        answer: JsonDict = {"id": message.wamid}
        if kind == "template":
            answer["message_status"] = "accepted"
        contact = {"input": to, "wa_id": to}
        return JSONResponse(
            {"messaging_product": "whatsapp", "contacts": [contact], "messages": [answer]}
        )

    def _mark_read(self, body: JsonDict) -> Response:
        if body.get("messaging_product") != "whatsapp" or body.get("status") != "read":
            raise limits.invalid("only {'status': 'read'} is accepted without 'to'", 100)
        message_id = body.get("message_id")
        if message_id not in self.inbound_ids:
            raise limits.invalid(f"message_id {message_id!r} is not a received message", 100)
        typing = body.get("typing_indicator")
        if typing is not None and typing != {"type": "text"}:
            raise limits.invalid("typing_indicator must be {'type': 'text'}", 100)
        if self._read_faults:
            raise self._read_faults.popleft()
        self.read_receipts.append((str(message_id), typing is not None))
        return JSONResponse({"success": True})

    def _take_fault(self, to: str) -> _Fault | None:
        for fault in self._faults:
            if fault.to in (None, to):
                self._faults.remove(fault)
                return fault
        return None

    def _check_phone(self, call: GraphCall) -> None:
        phone_id = call.path.split("/")[2]
        if phone_id != self.metadata.phone_number_id:
            details = f"Unsupported post request. Object with ID '{phone_id}' does not exist"
            raise limits.invalid(details, 100)

    def _wamid(self, to: str) -> str:
        seed = f"{to}:{next(self._ids)}:{secrets.token_hex(8)}".encode()
        return "wamid." + base64.b64encode(seed).decode()

    # ------------------------------------------------------------------ media

    async def _upload(self, request: Request) -> Response:
        async def upload(call: GraphCall, raw: bytes) -> Response:
            self._check_phone(call)
            fields = multipart_fields(request.headers.get("content-type", ""), raw)
            if fields.get("messaging_product", (None, b""))[1] != b"whatsapp":
                raise limits.invalid("messaging_product must be 'whatsapp'", 100)
            if "file" not in fields or not fields["file"][1]:
                raise limits.invalid("the parameter 'file' is required", 100)
            filename, content = fields["file"]
            mime = fields.get("type", (None, b""))[1].decode()
            kind = UPLOAD_TYPES.get(mime, "document")
            if len(content) > UPLOAD_LIMITS[kind]:
                raise limits.invalid(f"{kind} is larger than {UPLOAD_LIMITS[kind]} bytes", 131053)
            call.body = {"filename": filename, "type": mime, "size": len(content)}
            media = self.store_media(content, mime, filename)
            return JSONResponse({"id": media.id})

        return await self._serve(request, upload)

    async def _media(self, request: Request) -> Response:
        async def media(call: GraphCall, raw: bytes) -> Response:
            stored = self.media.get(request.path_params["media_id"])
            if stored is None or stored.deleted:
                details = f"Object with ID '{request.path_params['media_id']}' does not exist"
                raise limits.invalid(details, 100)
            if request.method == "DELETE":
                stored.deleted = True
                return JSONResponse({"success": True})
            expires = int(self.now()) + MEDIA_URL_SECONDS
            query = urlencode(
                {"mid": stored.id, "ext": expires, "hash": self._url_hash(stored.id, expires)}
            )
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.base_url}{ATTACHMENTS_PATH}?{query}",
                    "mime_type": stored.mime_type,
                    "sha256": hashlib.sha256(stored.content).hexdigest(),
                    "file_size": len(stored.content),
                    "id": stored.id,
                }
            )

        return await self._serve(request, media)

    async def _download(self, request: Request) -> Response:
        async def download(call: GraphCall, raw: bytes) -> Response:
            query = request.query_params
            stored = self.media.get(query.get("mid", ""))
            expires = int(query.get("ext", "0") or 0)
            if stored is None or query.get("hash") != self._url_hash(stored.id, expires):
                raise limits.invalid("the media URL is not one the API handed out", 100)
            if self.now() > expires:  # a race a bot can lose: not a violation
                raise GraphError(100, "URL signature expired", status=404)
            return Response(stored.content, media_type=stored.mime_type)

        return await self._serve(request, download)

    def _url_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self._url_key, f"{media_id}:{expires}".encode(), "sha256").hexdigest()

    async def _templates(self, request: Request) -> Response:
        async def listing(call: GraphCall, raw: bytes) -> Response:
            if request.path_params["waba_id"] != self.metadata.waba_id:
                raise limits.invalid("unknown WhatsApp Business Account id", 100)
            data = [t.to_json() for t in self.templates.values()]
            return JSONResponse({"data": data, "paging": {"cursors": {"before": "", "after": ""}}})

        return await self._serve(request, listing)
