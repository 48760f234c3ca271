"""The kinds of outbox rows: what a state change asks the sender to tell, and to whom.

Each value is the string stored in `outbox.kind`; a typed kind turns a misspelt one into an
error where it is written, not at send time. `conversations/notices.py` renders each kind.
"""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    # To the admin group: the card and what it carries.
    NEW_TICKET = "new_ticket"  # the documents, then the ticket's first card
    SUPPLEMENT = "supplement"  # a round of supplemented documents, a reply to the card
    CARD = "card"  # the card edited in place (posted anew when it was deleted)
    # Alerts to the admin group, each a reply to the card.
    INCIDENT = "incident"
    LINK_EXPIRED = "link_expired"  # also to the requester
    LINK_LOST = "link_lost"  # also to the requester
    LINK_UNSENT = "link_unsent"
    UNREACHABLE = "unreachable"
    # Time standards: a step past its standard, its escalation, why it was late.
    STEP_OVERDUE = "step_overdue"
    ESCALATION = "escalation"  # to the supervisor when one is set
    LATE_REASON = "late_reason"
    # To the requester.
    INCOMPLETE = "incomplete"
    SUPPLEMENT_REMINDER = "supplement_reminder"
    REJECTED = "rejected"
    EXPIRED = "expired"
    LINK_REVOKED = "link_revoked"
    RECEIVED = "received"
    CONFIRM_REMINDER = "confirm_reminder"
    CLOSED_UNCONFIRMED = "closed_unconfirmed"
    # The result is ready, the requester's reply window closed or closing: asked to tap
    # "Siap menerima"; to the admins, that they did (Kirim hasil can be tapped now).
    RESULT_READY = "result_ready"
    # A dialog's reply to one update, its content sealed in the row.
    REPLY = "reply"
