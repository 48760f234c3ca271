"""Names of the SOP's things: ticket states, request types, roles, steps, document kinds."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RequestType(StrEnum):
    RESET_PASSWORD = "reset_password"
    USER_ID = "user_id"
    BOTH = "both"

    @property
    def needs_password(self) -> bool:
        return self in (RequestType.RESET_PASSWORD, RequestType.BOTH)

    @property
    def needs_user_id(self) -> bool:
        return self in (RequestType.USER_ID, RequestType.BOTH)


class Role(StrEnum):
    PPK = "ppk"
    PP = "pp"
    POKJA = "pokja"


class DocumentKind(StrEnum):
    LETTER = "letter"
    SK = "sk"


class MissingItem(StrEnum):
    """What an admin can mark as missing at the completeness check (step 3)."""

    LETTER = "letter"
    SK = "sk"
    IDENTITY = "identity"


class TicketState(StrEnum):
    SUBMITTED = "submitted"  # waits for the completeness check (step 2)
    INCOMPLETE = "incomplete"  # waits for the requester to supplement (step 4)
    SUPPLEMENTED = "supplemented"  # supplemented, waits for the completeness check again
    COMPLETE = "complete"  # waits for the validity check (step 5)
    VALID = "valid"  # waits for the reset in SPSE and the result (step 6)
    DELIVERED = "delivered"  # one-time link sent, waits for the requester to open it (step 8)
    RECEIVED = "received"  # opened (step 8 done); waits for "logged in and changed it"
    REJECTED = "rejected"  # invalid (step 7); waits for the archive
    CANCELLED = "cancelled"  # cancelled by the requester; waits for the archive
    EXPIRED = "expired"  # the requester never supplemented (step 4); waits for the archive
    ARCHIVED = "archived"  # the file is archived (step 9); the end

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES

    @property
    def cancellable(self) -> bool:
        return self in CANCELLABLE_STATES


OPEN_STATES = frozenset(
    {
        TicketState.SUBMITTED,
        TicketState.INCOMPLETE,
        TicketState.SUPPLEMENTED,
        TicketState.COMPLETE,
        TicketState.VALID,
        TicketState.DELIVERED,
        TicketState.RECEIVED,
    }
)
CANCELLABLE_STATES = frozenset(
    {
        TicketState.SUBMITTED,
        TicketState.INCOMPLETE,
        TicketState.SUPPLEMENTED,
        TicketState.COMPLETE,
        TicketState.VALID,
    }
)


class Outcome(StrEnum):
    """How a ticket ended."""

    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the requester did not supplement in time


class Step(IntEnum):
    """The SOP's activities (Kegiatan), numbered as in the SOP."""

    SUBMIT = 1
    CHECK_COMPLETENESS = 2
    ASK_TO_COMPLETE = 3
    SUPPLEMENT = 4
    CHECK_VALIDITY = 5
    RESET_IN_SPSE = 6
    NOTIFY_REJECTION = 7
    DELIVER_RESULT = 8
    ARCHIVE = 9
