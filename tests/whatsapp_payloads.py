"""WhatsApp Cloud API webhook bodies as Meta documents them (webhooks reference, "messages"
field: text, interactive, button, document, image, contacts, system, unsupported, statuses;
the business-scoped user id fields of the 2026 usernames rollout), to build test bodies from.

Ids are Meta's own examples: the business account, phone number id and display number of
its reference pages, wamids of the documented shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
# A documented wamid (62 characters); newer ones run to 78 (a 32-hex-digit message id).
DOC_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
LONG_WAMID = "wamid.HBgMOTE5ODEwMjE4Njc0FQIAEhggQUM4Q0I2MzlGQzA0NDhFOUIwOTJGMjVERTZCRDY3MTMA"
BSUID = "US.13491208655302741918"
TIMESTAMP = "1749416383"

Json = dict[str, Any]


def wamid(n: int) -> str:
    """A short wamid of the documented shape (its status key fits today's inbox column)."""
    return f"wamid.HBgNNjI4MTIzNDU2NzAwMRUCABIYFDNB{n:010d}"


def body(*values: Json, field: str = "messages") -> Json:
    """A POST body: one entry whose changes carry `values`."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": WABA_ID, "changes": [{"value": value, "field": field} for value in values]}
        ],
    }


def value(
    messages: list[Json] | None = None,
    statuses: list[Json] | None = None,
    contacts: list[Json] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> Json:
    """A change's value; lists left out are absent, as Meta leaves them out."""
    data: Json = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    for key, items in (("contacts", contacts), ("messages", messages), ("statuses", statuses)):
        if items is not None:
            data[key] = items
    return data


def contact(wa_id: str | None, name: str, user_id: str | None = None) -> Json:
    """The sender's entry in `contacts`: number and/or business-scoped user id."""
    data: Json = {"profile": {"name": name}}
    if wa_id is not None:
        data["wa_id"] = wa_id
    if user_id is not None:
        data["user_id"] = user_id
    return data


def message(id_: str, sender: str | None, type_: str, content: Json | None, **extra: Any) -> Json:
    """A message of `type_` carrying `content` under its type's key."""
    data: Json = {"id": id_, "timestamp": TIMESTAMP, "type": type_}
    if sender is not None:
        data["from"] = sender
    if content is not None:
        data[type_] = content
    return {**data, **extra}


def text(id_: str, sender: str | None, said: str, **extra: Any) -> Json:
    return message(id_, sender, "text", {"body": said}, **extra)


def button_reply(id_: str, sender: str, data: str, title: str, on: str) -> Json:
    interactive = {"type": "button_reply", "button_reply": {"id": data, "title": title}}
    return message(
        id_, sender, "interactive", interactive, context={"from": DISPLAY_NUMBER, "id": on}
    )


def list_reply(id_: str, sender: str, data: str, title: str, on: str) -> Json:
    interactive = {
        "type": "list_reply",
        "list_reply": {"id": data, "title": title, "description": "Pilihan"},
    }
    return message(
        id_, sender, "interactive", interactive, context={"from": DISPLAY_NUMBER, "id": on}
    )


def quick_reply(id_: str, sender: str, payload: str, label: str, on: str) -> Json:
    """A tap on a template's quick-reply button."""
    return message(
        id_,
        sender,
        "button",
        {"payload": payload, "text": label},
        context={"from": DISPLAY_NUMBER, "id": on},
    )


def document(id_: str, sender: str, media_id: str, filename: str, mime: str) -> Json:
    content = {
        "filename": filename,
        "mime_type": mime,
        "sha256": "o5uLR4PhJnBCKjhL6U2YRQsN6QFDYVbYhkMsXmAfYMM=",
        "id": media_id,
    }
    return message(id_, sender, "document", content)


def image(id_: str, sender: str, media_id: str, mime: str = "image/jpeg") -> Json:
    content = {
        "caption": "SK halaman 1",
        "mime_type": mime,
        "sha256": "ZDe5y9ti1Qc4aV1j5iuJhNJlGYBJvOW8ocFWgSTRLEw=",
        "id": media_id,
    }
    return message(id_, sender, "image", content)


def shared_contacts(id_: str, sender: str, phone: str, wa_id: str | None, **extra: Any) -> Json:
    """A contact card: from the attachment menu, or (origin) answering a contact request."""
    number: Json = {"phone": phone, "type": "CELL"}
    if wa_id is not None:
        number["wa_id"] = wa_id
    card = {
        "name": {"formatted_name": "Budi Santoso", "first_name": "Budi"},
        "phones": [number],
    }
    data = message(id_, sender, "contacts", None, **extra)
    data["contacts"] = [card]
    return data


def changed_number(id_: str, old: str, new: str) -> Json:
    system = {
        "body": f"User Budi changed from {old} to {new}",
        "wa_id": new,
        "type": "user_changed_number",
    }
    return message(id_, old, "system", system)


def changed_user_id(id_: str, sender: str, new_user_id: str) -> Json:
    system = {
        "body": "User Budi changed their WhatsApp user id",
        "user_id": new_user_id,
        "type": "user_changed_user_id",
    }
    return message(id_, sender, "system", system)


def unsupported(id_: str, sender: str) -> Json:
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    return message(id_, sender, "unsupported", None, errors=errors)


def status(id_: str, state: str, recipient: str | None, **extra: Any) -> Json:
    data: Json = {"id": id_, "status": state, "timestamp": TIMESTAMP}
    if recipient is not None:
        data["recipient_id"] = recipient
    if state != "failed":
        data["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        data["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service"}
    return {**data, **extra}


def failed(id_: str, recipient: str) -> Json:
    """A failed status (Meta leaves `contacts` out of such a change)."""
    errors = [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours"},
        }
    ]
    return status(id_, "failed", recipient, errors=errors)


def encoded(data: Json) -> bytes:
    return json.dumps(data).encode()


def sign(app_secret: str, raw: bytes) -> str:
    """X-Hub-Signature-256, as Meta computes it (independently of the code under test)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
