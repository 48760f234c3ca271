"""Why the ticket service refused: a reason code, never a sentence.

The words people read are chosen in `conversations/` (`texts.ticket_error`); an error keeps
what they need (the ticket's number and state at the refusal, and the person it names), read
while the ticket was loaded, since the transaction that refused has rolled back by then.
"""

from __future__ import annotations

from enum import StrEnum

from chatbot.db.models import Ticket
from chatbot.services.enums import TicketState


class Reason(StrEnum):
    # The ticket, its owner and its state
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    NOT_NOW = "not_now"  # the move is not allowed from the ticket's state
    ALREADY_HANDLED = "already_handled"  # the version moved on: someone else decided
    # Intake and the admins' checks
    DOCUMENTS_MISSING = "documents_missing"
    NOTHING_PICKED = "nothing_picked"
    IDENTITY_NOTE_NEEDED = "identity_note_needed"
    # The result
    NOT_AWAITING_RESULT = "not_awaiting_result"
    CLAIMED_BY_OTHER = "claimed_by_other"
    LINK_ABANDONED = "link_abandoned"
    NO_LINK = "no_link"
    OPENED_MEANWHILE = "opened_meanwhile"
    ALREADY_CLOSED = "already_closed"
    INCIDENT_OPEN = "incident_open"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    # Late reasons
    NOT_LATE = "not_late"
    LATE_QUESTION_FOR_OTHER = "late_question_for_other"
    LATE_REASON_RECORDED = "late_reason_recorded"


class TicketError(Exception):
    """A move the SOP does not allow now; carries the ticket as it is.

    `who` is the person the refusal names: the admin holding the result, the admin a late
    question is for, or the one who answered it already.
    """

    def __init__(
        self, reason: Reason, ticket: Ticket | None = None, *, who: str | None = None
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.ticket = ticket
        self.who = who
        self.number: str | None = ticket.number if ticket is not None else None
        self.state: TicketState | None = ticket.state if ticket is not None else None


class TicketNotFound(TicketError):
    pass


class IllegalMove(TicketError):
    """The ticket is not in a state where this move is allowed."""


class StaleMove(TicketError):
    """Someone moved the ticket since the button was shown."""


class NotYours(TicketError):
    """The ticket belongs to another requester or is claimed by another admin."""


class LinkAbandoned(TicketError):
    """The link's hand-over was given up (the sweep found it unrecorded) before it was."""
