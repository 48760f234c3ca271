"""Button payloads: references (kind, action, ticket, version), never data.

Telegram allows 64 bytes of callback_data and WhatsApp 256 characters; `encode` refuses
anything longer and `decode` refuses anything malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


class RequesterAction(StrEnum):
    CANCEL = "cx"
    CANCEL_CONFIRM = "cy"
    KEEP = "cn"  # "Kembali" on the cancel question: the ticket stays
    SUPPLEMENT = "sp"
    STATUS = "st"
    CONFIRM_LOGIN = "ok"
    NOT_ME = "nm"


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
    if not text.isdigit() or len(text) > 12:
        raise PayloadError("not a number")
    return int(text)


def decode(data: str) -> Payload:
    """Parse a payload; anything malformed raises PayloadError."""
    if len(data.encode()) > MAX_BYTES:
        raise PayloadError("too long")
    parts = data.split("|")
    try:
        match parts:
            case ["a", action, ticket, version, arg]:
                return AdminPayload(AdminAction(action), _int(ticket), _int(version), arg)
            case ["r", action, ticket]:
                return RequesterPayload(RequesterAction(action), _int(ticket))
            case ["d", step, value] if step and len(step) <= 16:
                return DialogPayload(step, value)
    except ValueError as exc:
        raise PayloadError(str(exc)) from exc
    raise PayloadError("unknown payload")
