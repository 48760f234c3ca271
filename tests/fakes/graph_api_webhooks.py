"""Webhook bodies exactly as Meta documents them, their signature, and their delivery.

A body is ``{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>, "changes":
[{"field": "messages", "value": {"messaging_product", "metadata", "contacts", "messages" |
"statuses"}}]}]}``; ``X-Hub-Signature-256`` is ``sha256=`` + the hex HMAC-SHA256 of the raw
bytes keyed with the app secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field

import httpx

from tests.fakes.graph_api_models import JsonDict

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(raw: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``raw``."""
    digest = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def media_sha256(content: bytes) -> str:
    """The ``sha256`` of a media object in a webhook (base64, unlike ``GET /{media_id}``)."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


@dataclass
class InboundMessage:
    """One user message: its ``contacts[]`` item and its ``messages[]`` item."""

    contact: JsonDict
    message: JsonDict

    @property
    def wamid(self) -> str:
        """The message id (wamid)."""
        return str(self.message["id"])


@dataclass
class StatusItem:
    """One ``statuses[]`` item."""

    status: JsonDict


@dataclass(frozen=True)
class Metadata:
    """Who the webhook is for: the WABA and the business phone number."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str


@dataclass
class WebhookDelivery:
    """A signed webhook body, and the webhook's answers each time it was POSTed."""

    raw: bytes
    signature: str
    statuses: list[int] = field(default_factory=list)

    @property
    def payload(self) -> JsonDict:
        """The decoded body."""
        result: JsonDict = json.loads(self.raw)
        return result

    @property
    def headers(self) -> dict[str, str]:
        """The headers Meta sends with the body."""
        return {"Content-Type": "application/json", SIGNATURE_HEADER: self.signature}

    @property
    def status(self) -> int | None:
        """The answer to the latest POST (None if never posted)."""
        return self.statuses[-1] if self.statuses else None


def build_body(metadata: Metadata, items: list[InboundMessage | StatusItem]) -> JsonDict:
    """One body holding every item: messages in one change, statuses in another (as Meta
    batches them)."""
    base = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": metadata.display_phone_number,
            "phone_number_id": metadata.phone_number_id,
        },
    }
    changes: list[JsonDict] = []
    messages = [i for i in items if isinstance(i, InboundMessage)]
    statuses = [i for i in items if isinstance(i, StatusItem)]
    if messages:
        contacts: list[JsonDict] = []
        for item in messages:
            if item.contact not in contacts:
                contacts.append(item.contact)
        value = {**base, "contacts": contacts, "messages": [i.message for i in messages]}
        changes.append({"value": value, "field": "messages"})
    if statuses:
        value = {**base, "statuses": [i.status for i in statuses]}
        changes.append({"value": value, "field": "messages"})
    if not changes:
        msg = "a webhook body needs at least one message or status"
        raise ValueError(msg)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": metadata.waba_id, "changes": changes}],
    }


def encode(body: JsonDict, app_secret: str) -> WebhookDelivery:
    """Serialise and sign ``body`` (compact JSON, non-ASCII kept, as Meta sends it)."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return WebhookDelivery(raw=raw, signature=sign(raw, app_secret))


async def post(url: str, delivery: WebhookDelivery, timeout: float = 10.0) -> int:
    """POST a delivery to the bot's webhook; returns the HTTP status and records it."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        response = await client.post(url, content=delivery.raw, headers=delivery.headers)
    delivery.statuses.append(response.status_code)
    return response.status_code


async def handshake(url: str, verify_token: str, challenge: str) -> httpx.Response:
    """Meta's GET verification of a webhook URL."""
    params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.get(url, params=params)
