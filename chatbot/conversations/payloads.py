"""Button payloads: references (kind, action, ticket, version), never data.

Telegram allows 64 bytes of callback_data and WhatsApp 256 characters; `encode` refuses
anything longer and `decode` refuses anything malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from chatbot.services.enums import MissingItem

MAX_BYTES = 64


class AdminAction(StrEnum):
    COMPLETE = "ok"
    INCOMPLETE = "inc"
    TOGGLE = "tg"
    NOTE = "nt"
    SEND_INCOMPLETE = "si"
    BACK = "bk"
    VALID = "va"
    INVALID = "iv"
    REASON = "rs"
    REASON_OTHER = "ro"
    PHONE = "ph"
    RESULT = "re"
    REVOKE = "rv"
    REVOKE_CONFIRM = "rc"
    LATE = "lt"  # why a step was late: arg "<step record id>.<preset index or x>"
    CARD = "cd"  # bring the ticket's card back (a button on /antrian and /cari lines)


class RequesterAction(StrEnum):
    CANCEL = "cx"
    CANCEL_CONFIRM = "cy"
    KEEP = "cn"  # "Kembali" on the cancel question: the ticket stays
    SUPPLEMENT = "sp"
    STATUS = "st"
    CONFIRM_LOGIN = "ok"
    NOT_ME = "nm"
    READY = "rd"  # "Siap menerima": also a template's quick-reply payload (WhatsApp)


class PayloadError(ValueError):
    pass


@dataclass(frozen=True)
class AdminPayload:
    """A tap on a ticket's card in the admin group."""

    action: AdminAction
    ticket_id: int
    version: int
    arg: str = ""

    def encode(self) -> str:
        return _fit(f"a|{self.action}|{self.ticket_id}|{self.version}|{self.arg}")


@dataclass(frozen=True)
class RequesterPayload:
    """A tap on a ticket button in the requester's chat."""

    action: RequesterAction
    ticket_id: int

    def encode(self) -> str:
        return _fit(f"r|{self.action}|{self.ticket_id}")


@dataclass(frozen=True)
class DialogPayload:
    """A choice inside a dialog: valid only at the step that showed it."""

    step: str
    value: str

    def encode(self) -> str:
        return _fit(f"d|{self.step}|{self.value}")


Payload = AdminPayload | RequesterPayload | DialogPayload


def _fit(data: str) -> str:
    if len(data.encode()) > MAX_BYTES or "\n" in data:
        raise PayloadError(f"payload too long: {len(data.encode())} bytes")
    return data


def _int(text: str) -> int:
    """An ASCII number as `str(int)` writes it: no sign, no leading zero, no other digits."""
    if not _NUMBER.fullmatch(text):
        raise PayloadError("not a number")
    return int(text)


_NUMBER = re.compile(r"0|[1-9][0-9]{0,11}")
_INDEX = re.compile(r"0|[1-9][0-9]?")
_LATE = re.compile(r"[1-9][0-9]{0,11}\.(?:0|[1-9][0-9]?|x)")

# Actions that are not bound to the ticket's version (their version field is always 0):
# a late question outlives the step, a list line outlives the ticket's moves.
UNVERSIONED = frozenset({AdminAction.LATE, AdminAction.CARD})


def _arg_fits(action: AdminAction, arg: str) -> bool:
    """Each action's argument, exactly: a tap never reaches a handler with one it cannot use."""
    if action is AdminAction.TOGGLE:
        return arg in set(MissingItem)
    if action is AdminAction.REASON:
        return _INDEX.fullmatch(arg) is not None
    if action is AdminAction.LATE:
        return _LATE.fullmatch(arg) is not None
    return arg == ""


def _admin(action: str, ticket: str, version: str, arg: str) -> AdminPayload:
    payload = AdminPayload(AdminAction(action), _int(ticket), _int(version), arg)
    if payload.ticket_id == 0 or not _arg_fits(payload.action, arg):
        raise PayloadError("bad argument")
    if (payload.action in UNVERSIONED) != (payload.version == 0):
        raise PayloadError("bad version")
    return payload


def decode(data: str) -> Payload:
    """Parse a payload; anything malformed raises PayloadError."""
    if len(data.encode()) > MAX_BYTES:
        raise PayloadError("too long")
    parts = data.split("|")
    try:
        match parts:
            case ["a", action, ticket, version, arg]:
                return _admin(action, ticket, version, arg)
            case ["r", action, ticket] if ticket != "0":
                return RequesterPayload(RequesterAction(action), _int(ticket))
            case ["d", step, value] if step and len(step) <= 16:
                return DialogPayload(step, value)
    except ValueError as exc:
        raise PayloadError(str(exc)) from exc
    raise PayloadError("unknown payload")
