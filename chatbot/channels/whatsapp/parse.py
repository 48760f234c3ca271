"""Our own reader of the WhatsApp Cloud API webhook: one POST body split into one raw update
per message and per status, and a raw message mapped to our `Incoming`.

Not pywa's parser: it reads only the first message of a batched body and raises on variants
(a contact without `user_id`, a status without `contacts`). A body is
`object=whatsapp_business_account`, `entry[] -> changes[] -> value` with `metadata`,
`contacts[]`, `messages[]` and `statuses[]`; each raw update keeps what the adapter needs
later (the message or status itself, the sender's number and business-scoped user id, the
profile name, the business number it was sent to), as small JSON data for the inbox.
"""

from __future__ import annotations

from typing import Any

from chatbot.conversations.messages import Incoming, IncomingFile, SharedContact

CHANNEL = "whatsapp"
BODY_OBJECT = "whatsapp_business_account"
MESSAGE, STATUS = "message", "status"
# A status without a recipient gets a lane of its own (it holds up no chat).
NO_CHAT = "status-"
UNNAMED = "Pengguna WhatsApp"  # a sender whose profile has no name
# Message types that are no message to answer: a reaction to one of ours.
IGNORED_TYPES = frozenset({"reaction"})

Raw = dict[str, Any]


class MalformedBody(ValueError):
    """A webhook body that is not the Cloud API's shape; the message says where."""


# ---- splitting a body ----------------------------------------------------------------------


def split_body(body: object) -> list[Raw]:
    """One raw update per message and per status, in the body's order. Changes of other
    fields (template or account updates) yield none. Raises MalformedBody."""
    if not isinstance(body, dict):
        raise MalformedBody("the body is not a JSON object")
    if body.get("object") != BODY_OBJECT:
        raise MalformedBody(f"object is not {BODY_OBJECT}")
    raws: list[Raw] = []
    for e, entry in enumerate(_list(body, "entry", "body", required=True)):
        where = f"entry[{e}]"
        entry_ = _object(entry, where)
        for c, change in enumerate(_list(entry_, "changes", where, required=True)):
            at = f"{where}.changes[{c}]"
            change_ = _object(change, at)
            if change_.get("field") != "messages":
                continue
            raws += _updates(_object(change_.get("value"), f"{at}.value"), f"{at}.value")
    return raws


def _updates(value: dict[str, Any], where: str) -> list[Raw]:
    messages = _list(value, "messages", where)
    statuses = _list(value, "statuses", where)
    if not messages and not statuses:
        return []
    metadata = _object(value.get("metadata"), f"{where}.metadata")
    number_id = _string(metadata, "phone_number_id", f"{where}.metadata")
    contacts = [
        _object(c, f"{where}.contacts[{i}]") for i, c in enumerate(_list(value, "contacts", where))
    ]
    raws = [
        _message(m, number_id, contacts, f"{where}.messages[{i}]") for i, m in enumerate(messages)
    ]
    raws += [_status(s, number_id, f"{where}.statuses[{i}]") for i, s in enumerate(statuses)]
    return raws


def _message(data: object, number_id: str, contacts: list[dict[str, Any]], where: str) -> Raw:
    message = _object(data, where)
    wamid = _string(message, "id", where)
    contact = _contact_of(message, contacts)
    wa_id = _text_or_none(message.get("from")) or _text_or_none(contact.get("wa_id"))
    user_id = _text_or_none(message.get("from_user_id")) or _text_or_none(contact.get("user_id"))
    if wa_id is None and user_id is None:
        raise MalformedBody(f"{where} names no sender (from, from_user_id or contacts)")
    profile = contact.get("profile")
    name = _text_or_none(profile.get("name")) if isinstance(profile, dict) else None
    return {
        "update": MESSAGE,
        "id": wamid,
        "phone_number_id": number_id,
        "wa_id": wa_id,
        "user_id": user_id,
        "name": name,
        "message": message,
    }


def _contact_of(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    """The sender's entry in `contacts`: by number, else by user id, else the only one."""
    for key, own in (("wa_id", message.get("from")), ("user_id", message.get("from_user_id"))):
        if own is not None:
            found = next((c for c in contacts if c.get(key) == own), None)
            if found is not None:
                return found
    return contacts[0] if len(contacts) == 1 else {}


def _status(data: object, number_id: str, where: str) -> Raw:
    status = _object(data, where)
    wamid = _string(status, "id", where)
    state = _string(status, "status", where)
    recipient = _text_or_none(status.get("recipient_id")) or _text_or_none(
        status.get("recipient_user_id")
    )
    return {
        "update": STATUS,
        "id": f"{wamid}:{state}",
        "phone_number_id": number_id,
        "recipient": recipient,
        "status": status,
    }


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedBody(f"{where} is not an object")
    return value


def _list(holder: dict[str, Any], key: str, where: str, *, required: bool = False) -> list[Any]:
    value = holder.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise MalformedBody(f"{where}.{key} is not a list")
    return value


def _string(holder: dict[str, Any], key: str, where: str) -> str:
    value = holder.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedBody(f"{where}.{key} is not a non-empty string")
    return value


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# ---- what a raw update is ------------------------------------------------------------------


def chat_of(raw: Raw) -> str | None:
    """The chat a raw update belongs to: the sender's number, or their business-scoped user
    id when no number came (a username user); a status's recipient."""
    if raw.get("update") == STATUS:
        return _text_or_none(raw.get("recipient"))
    return _text_or_none(raw.get("wa_id")) or _text_or_none(raw.get("user_id"))


def lane(raw: Raw) -> str:
    """The inbox lane: one chat's updates are handled in order."""
    chat = chat_of(raw)
    return f"{CHANNEL}:{chat if chat is not None else NO_CHAT + str(raw.get('id'))}"


def kind(raw: Raw) -> str:
    """What the update is, for the metrics: `status`, or the message's type."""
    if raw.get("update") == STATUS:
        return STATUS
    message = raw.get("message")
    kind_ = message.get("type") if isinstance(message, dict) else None
    return kind_[:32] if isinstance(kind_, str) and kind_ else "unknown"


def moved_to(raw: Raw) -> tuple[str, str] | None:
    """(old chat, new chat) of a system message that moves the sender: a changed number
    (`user_changed_number`, the new number in `wa_id`), or a changed business-scoped user id
    of a sender we know by that id only (`user_changed_user_id`); None otherwise."""
    message = raw.get("message")
    old = chat_of(raw)
    if raw.get("update") != MESSAGE or not isinstance(message, dict) or old is None:
        return None
    system = message.get("system")
    if message.get("type") != "system" or not isinstance(system, dict):
        return None
    if system.get("type") == "user_changed_number":
        new = _text_or_none(system.get("wa_id"))
    elif system.get("type") == "user_changed_user_id" and _text_or_none(raw.get("wa_id")) is None:
        new = _text_or_none(system.get("user_id"))
    else:
        return None
    return (old, new) if new is not None and new != old else None


# ---- a raw message as our Incoming ---------------------------------------------------------


def to_incoming(raw: Raw) -> Incoming | None:
    """What the person did; None for what needs no answer (statuses, reactions). Never
    raises on a variant: anything not understood is `other` with its type's name."""
    message = raw.get("message")
    chat = chat_of(raw)
    if raw.get("update") != MESSAGE or not isinstance(message, dict) or chat is None:
        return None
    type_ = kind(raw)
    if type_ in IGNORED_TYPES:
        return None
    quoted = message.get("context")
    context: dict[str, Any] = quoted if isinstance(quoted, dict) else {}
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "update_id": str(raw["id"]),
        "chat_id": chat,
        "user_id": chat,  # a private chat: the person is the chat
        "user_name": _text_or_none(raw.get("name")) or _text_or_none(raw.get("wa_id")) or UNNAMED,
        "message_id": str(message.get("id")),
        "sender_phone": e164(raw.get("wa_id")),
    }
    return Incoming(**{**base, **_content(type_, message, context, chat)})


def e164(wa_id: object) -> str | None:
    """A wa_id (the number in digits, no plus) in E.164; None without one."""
    number = _text_or_none(wa_id)
    return f"+{number}" if number is not None and number.isdigit() else None


def _content(
    type_: str, message: dict[str, Any], context: dict[str, Any], chat: str
) -> dict[str, Any]:
    """The Incoming fields that say what was sent."""
    body = message.get(type_)
    body = body if isinstance(body, dict) else {}
    quoted = _text_or_none(context.get("id"))
    if type_ == "text" and isinstance(body.get("body"), str):
        return {
            "text": body["body"],
            "reply_to_message_id": quoted,
            "replied_to_bot": quoted is not None and context.get("from") != chat,
        }
    tapped = _tapped(type_, body)
    if tapped is not None:  # the button sits on the message it answers
        return {"button": tapped, "message_id": quoted or str(message.get("id"))}
    if type_ in ("document", "image") and _text_or_none(body.get("id")):
        photo = type_ == "image"
        return {
            "file": IncomingFile(
                file_id=body["id"],
                name=None if photo else _text_or_none(body.get("filename")),
                mime=_text_or_none(body.get("mime_type")),
                is_photo=photo,
            )
        }
    if type_ == "contacts":
        contact = _shared_contact(message, chat)
        if contact is not None:
            return {"contact": contact}
    if type_ == "system":
        return {"other": _text_or_none(body.get("type")) or "system"}
    return {"other": type_}


def _tapped(type_: str, body: dict[str, Any]) -> str | None:
    """The data of a tapped button: a reply button's or list row's id, a template quick
    reply's payload; None when the message is no tap."""
    if type_ == "interactive":
        reply_type = body.get("type")
        if reply_type in ("button_reply", "list_reply"):
            reply = body.get(reply_type)
            if isinstance(reply, dict):
                return reply["id"] if isinstance(reply.get("id"), str) else ""
    if type_ == "button":
        payload = body.get("payload")
        return payload if isinstance(payload, str) else ""
    return None


def _shared_contact(message: dict[str, Any], chat: str) -> SharedContact | None:
    """The first phone of a shared contact card. A card answering our contact request is the
    sender's own number (WhatsApp vouches for it); any other names its own WhatsApp id, if
    the number is on WhatsApp. The request's `origin` is read on the message or on the
    card: the documentation's examples differ."""
    cards = message.get("contacts")
    card = cards[0] if isinstance(cards, list) and cards and isinstance(cards[0], dict) else {}
    phones = card.get("phones")
    phone = phones[0] if isinstance(phones, list) and phones and isinstance(phones[0], dict) else {}
    number = _text_or_none(phone.get("phone"))
    if number is None:
        return None
    if "contact_request" in (message.get("origin"), card.get("origin")):
        return SharedContact(number, chat)
    return SharedContact(number, _text_or_none(phone.get("wa_id")))
