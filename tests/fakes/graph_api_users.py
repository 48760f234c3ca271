"""The users' side of the fake Cloud API: people writing, tapping and sending files, the
status callbacks of sent messages, the fake clock and the 24-hour window.

Each ``*_message`` builder makes one inbound message (the user has now written: the window
opens) without delivering it; ``deliver`` signs a body of one or several items and POSTs it
to ``webhook_url``; the ``user_*`` helpers do both for one message.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass

from tests.fakes import graph_api_webhooks as hooks
from tests.fakes.graph_api_models import GraphError, JsonDict, SentMessage, StoredMedia
from tests.fakes.graph_api_webhooks import InboundMessage, Metadata, StatusItem, WebhookDelivery

WINDOW_SECONDS = 24 * 3600
STATUS_ORDER = ("sent", "delivered", "read", "failed")


@dataclass
class WaUser:
    """A WhatsApp user: number (wa_id), profile name, optional business-scoped user id."""

    wa_id: str
    name: str
    user_id: str | None = None

    def contact(self) -> JsonDict:
        """The ``contacts[]`` item of a webhook."""
        contact: JsonDict = {"profile": {"name": self.name}, "wa_id": self.wa_id}
        if self.user_id is not None:
            contact["user_id"] = self.user_id
        return contact


class FakeWhatsAppUsers:
    """State and helpers of the users' side; :class:`FakeGraphApi` adds the HTTP server."""

    webhook_url: str | None

    def __init__(self, metadata: Metadata, app_secret: str) -> None:
        self.metadata = metadata
        self.app_secret = app_secret
        self.users: dict[str, WaUser] = {}
        self.undeliverable: set[str] = set()
        self.media: dict[str, StoredMedia] = {}
        self.sent: list[SentMessage] = []
        self.last_inbound: dict[str, float] = {}
        self.inbound_ids: set[str] = set()
        self.pending_statuses: list[StatusItem] = []
        self.deliveries: list[WebhookDelivery] = []
        self.clock_offset = 0.0
        self._media_ids = itertools.count(900_000_000_000_001)

    # ================================================================== clock and window

    def now(self) -> float:
        """The fake clock: real time plus whatever ``advance`` added."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake clock (24-hour window, media URL lifetime, timestamps)."""
        self.clock_offset += seconds

    def window_open(self, wa_id: str) -> bool:
        """Whether the user wrote within the last 24 hours."""
        last = self.last_inbound.get(wa_id)
        return last is not None and self.now() - last < WINDOW_SECONDS

    # ================================================================== people and media

    def add_user(self, wa_id: str, name: str = "Pemohon", *, user_id: str | None = None) -> WaUser:
        """A WhatsApp user (created on first use with a default name otherwise)."""
        if not wa_id.isdigit():
            msg = f"a wa_id is the number in digits, got {wa_id!r}"
            raise ValueError(msg)
        self.users[wa_id] = WaUser(wa_id, name, user_id)
        return self.users[wa_id]

    def make_undeliverable(self, wa_id: str) -> None:
        """Sends to this number fail with 131026 (not on WhatsApp, or an old app)."""
        self.undeliverable.add(wa_id)

    def store_media(self, content: bytes, mime_type: str, filename: str | None) -> StoredMedia:
        """Keep bytes under a new media id."""
        media = StoredMedia(str(next(self._media_ids)), content, mime_type, filename)
        self.media[media.id] = media
        return media

    # ================================================================== inbound messages

    def _inbound(self, wa_id: str, kind: str, content: JsonDict, **extra: object) -> InboundMessage:
        user = self.users.get(wa_id) or self.add_user(wa_id)
        now = self.now()
        wamid = "wamid." + base64.b64encode(f"in:{wa_id}:{secrets.token_hex(10)}".encode()).decode()
        message: JsonDict = {"from": wa_id, "id": wamid, "timestamp": str(int(now))}
        message.update(extra)
        message["type"] = kind
        message[kind] = content
        self.last_inbound[wa_id] = now
        self.inbound_ids.add(wamid)
        return InboundMessage(user.contact(), message)

    def _reply_context(self, wa_id: str, to_wamid: str | None) -> dict[str, object]:
        """``context`` of a tap: the message tapped (default: the latest sent to the user)."""
        if to_wamid is None:
            sent = [m for m in self.sent if m.to == wa_id]
            if not sent:
                msg = f"{wa_id} cannot tap anything: the bot sent them nothing"
                raise AssertionError(msg)
            to_wamid = sent[-1].wamid
        return {"context": {"from": self.metadata.display_phone_number, "id": to_wamid}}

    def text_message(self, wa_id: str, text: str) -> InboundMessage:
        """The user types a text."""
        return self._inbound(wa_id, "text", {"body": text})

    def button_message(
        self, wa_id: str, reply_id: str, title: str, *, to_wamid: str | None = None
    ) -> InboundMessage:
        """The user taps a reply button."""
        reply = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
        return self._inbound(wa_id, "interactive", reply, **self._reply_context(wa_id, to_wamid))

    def list_message(
        self,
        wa_id: str,
        row_id: str,
        title: str,
        description: str | None = None,
        *,
        to_wamid: str | None = None,
    ) -> InboundMessage:
        """The user picks a row of a list."""
        row: JsonDict = {"id": row_id, "title": title}
        if description is not None:
            row["description"] = description
        reply = {"type": "list_reply", "list_reply": row}
        return self._inbound(wa_id, "interactive", reply, **self._reply_context(wa_id, to_wamid))

    def template_button_message(
        self, wa_id: str, payload: str, text: str, *, to_wamid: str | None = None
    ) -> InboundMessage:
        """The user taps a quick-reply button of a template."""
        button = {"payload": payload, "text": text}
        return self._inbound(wa_id, "button", button, **self._reply_context(wa_id, to_wamid))

    def document_message(
        self, wa_id: str, content: bytes, filename: str, mime_type: str, caption: str | None = None
    ) -> InboundMessage:
        """The user sends a file (downloadable through ``GET /{media_id}``)."""
        media = self.store_media(content, mime_type, filename)
        document: JsonDict = {
            "filename": filename,
            "mime_type": mime_type,
            "sha256": hooks.media_sha256(content),
            "id": media.id,
        }
        if caption is not None:
            document["caption"] = caption
        return self._inbound(wa_id, "document", document)

    def image_message(
        self, wa_id: str, content: bytes, mime_type: str = "image/jpeg", caption: str | None = None
    ) -> InboundMessage:
        """The user sends a photo."""
        media = self.store_media(content, mime_type, None)
        image: JsonDict = {"mime_type": mime_type, "sha256": hooks.media_sha256(content)}
        image["id"] = media.id
        if caption is not None:
            image["caption"] = caption
        return self._inbound(wa_id, "image", image)

    def contact_message(
        self,
        wa_id: str,
        phone: str,
        name: str,
        *,
        contact_wa_id: str | None = None,
        requested: bool = False,
    ) -> InboundMessage:
        """The user shares a contact card; ``requested`` marks the (verified) answer to a
        ``request_contact_info`` button (``origin: contact_request``)."""
        card: JsonDict = {
            "name": {"formatted_name": name, "first_name": name.split(maxsplit=1)[0]},
            "phones": [{"phone": phone, "type": "CELL"}],
        }
        if contact_wa_id is not None:
            card["phones"][0]["wa_id"] = contact_wa_id
        if requested:
            card["origin"] = "contact_request"
        message = self._inbound(wa_id, "contacts", {})
        message.message["contacts"] = [card]
        return message

    def number_change_message(self, wa_id: str, new_wa_id: str) -> InboundMessage:
        """A ``system`` message: the user moved to a new number."""
        system = {
            "body": f"User {wa_id} changed from {wa_id} to {new_wa_id}",
            "wa_id": new_wa_id,
            "type": "user_changed_number",
        }
        message = self._inbound(wa_id, "system", system)
        self.users[new_wa_id] = WaUser(new_wa_id, self.users[wa_id].name, self.users[wa_id].user_id)
        return message

    # ================================================================== statuses

    def status_item(
        self, wamid: str, status: str, error: GraphError | int | None = None
    ) -> StatusItem:
        """A status callback for a sent message (``failed`` carries the error code)."""
        if status not in STATUS_ORDER:
            msg = f"status is one of {STATUS_ORDER}, got {status!r}"
            raise ValueError(msg)
        sent = next((m for m in self.sent if m.wamid == wamid), None)
        if sent is None:
            msg = f"no sent message {wamid!r}"
            raise AssertionError(msg)
        item: JsonDict = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(self.now())),
            "recipient_id": sent.to,
        }
        if status == "failed":
            failure = error if isinstance(error, GraphError) else GraphError(error or 131026)
            item["errors"] = [failure.status_error()]
        else:
            category = "utility" if sent.type == "template" else "service"
            origin = {"type": category}
            item["conversation"] = {"id": secrets.token_hex(16), "origin": origin}
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category}
        if sent.tracker is not None:
            item["biz_opaque_callback_data"] = sent.tracker
        sent.statuses.append(status)
        return StatusItem(item)

    # ================================================================== delivery

    def webhook_body(self, *items: InboundMessage | StatusItem) -> WebhookDelivery:
        """One signed body with every item (a batch), not posted."""
        delivery = hooks.encode(hooks.build_body(self.metadata, list(items)), self.app_secret)
        self.deliveries.append(delivery)
        return delivery

    async def deliver(self, *items: InboundMessage | StatusItem) -> WebhookDelivery:
        """Sign one body with every item and POST it to ``webhook_url`` (if set)."""
        delivery = self.webhook_body(*items)
        if self.webhook_url is not None:
            await hooks.post(self.webhook_url, delivery)
        return delivery

    async def redeliver(self, delivery: WebhookDelivery) -> int:
        """POST the same bytes again, as Meta retries."""
        if self.webhook_url is None:
            msg = "redeliver needs webhook_url"
            raise AssertionError(msg)
        return await hooks.post(self.webhook_url, delivery)

    async def flush_statuses(self) -> WebhookDelivery | None:
        """Deliver the queued ``failed`` statuses of ``fail_next(..., later=True)`` sends."""
        if not self.pending_statuses:
            return None
        items, self.pending_statuses = self.pending_statuses, []
        return await self.deliver(*items)

    async def send_status(
        self, wamid: str, status: str, error: GraphError | int | None = None
    ) -> WebhookDelivery:
        """Deliver one status callback."""
        return await self.deliver(self.status_item(wamid, status, error))

    async def user_sends_text(self, wa_id: str, text: str) -> WebhookDelivery:
        """The user types a text; delivered."""
        return await self.deliver(self.text_message(wa_id, text))

    async def user_taps_button(
        self, wa_id: str, reply_id: str, title: str, *, to_wamid: str | None = None
    ) -> WebhookDelivery:
        """The user taps a reply button; delivered."""
        return await self.deliver(self.button_message(wa_id, reply_id, title, to_wamid=to_wamid))

    async def user_picks_list_row(
        self,
        wa_id: str,
        row_id: str,
        title: str,
        description: str | None = None,
        *,
        to_wamid: str | None = None,
    ) -> WebhookDelivery:
        """The user picks a list row; delivered."""
        message = self.list_message(wa_id, row_id, title, description, to_wamid=to_wamid)
        return await self.deliver(message)

    async def user_taps_template_button(
        self, wa_id: str, payload: str, text: str, *, to_wamid: str | None = None
    ) -> WebhookDelivery:
        """The user taps a template's quick reply; delivered."""
        message = self.template_button_message(wa_id, payload, text, to_wamid=to_wamid)
        return await self.deliver(message)

    async def user_sends_document(
        self, wa_id: str, content: bytes, filename: str, mime_type: str, caption: str | None = None
    ) -> WebhookDelivery:
        """The user sends a file; delivered."""
        return await self.deliver(
            self.document_message(wa_id, content, filename, mime_type, caption)
        )

    async def user_sends_image(
        self, wa_id: str, content: bytes, mime_type: str = "image/jpeg", caption: str | None = None
    ) -> WebhookDelivery:
        """The user sends a photo; delivered."""
        return await self.deliver(self.image_message(wa_id, content, mime_type, caption))

    async def user_shares_contact(
        self,
        wa_id: str,
        phone: str,
        name: str,
        *,
        contact_wa_id: str | None = None,
        requested: bool = False,
    ) -> WebhookDelivery:
        """The user shares a contact card; delivered."""
        message = self.contact_message(
            wa_id, phone, name, contact_wa_id=contact_wa_id, requested=requested
        )
        return await self.deliver(message)

    async def webhook_handshake(self, verify_token: str) -> tuple[int, str, str]:
        """Meta's GET verification of ``webhook_url``: ``(status, body, challenge sent)``."""
        if self.webhook_url is None:
            msg = "webhook_handshake needs webhook_url"
            raise AssertionError(msg)
        challenge = secrets.token_hex(8)
        response = await hooks.handshake(self.webhook_url, verify_token, challenge)
        return response.status_code, response.text, challenge
