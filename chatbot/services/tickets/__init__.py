"""The SOP as a ticket state machine: one door for every move, each move on the record.

Every use case opens its own transaction: the state change, its SOP step records, the audit
event and the outbox rows for the notifications it causes commit together or not at all.

`TicketService` is one object for its callers, put together from the package's parts, each
on `machine.TicketBase` (sessions, clock, policy, and `_move`, the one door):

- `machine`: the moves (`MOVES`), `Actor`, ticket numbers, `_move`;
- `errors`: `TicketError` and its kinds, each with a `Reason` code (the words are chosen in
  `conversations/`);
- `records`: step records, their deadlines and late reasons;
- `intake`: submit and supplement; `checks`: completeness, validity, rejection;
- `result`: claim, hand-over, reveal, revoke, login confirmation, incidents;
- `readiness`: asking a requester with a closed reply window to say they are ready;
- `sweeping` (the sweeps' one skeleton) and `sweeps`: unsent, expired and lost links,
  confirmation reminders and closing, step 4's reminder and expiry;
- `ending`: cancel and archive; `links`: the links' rows and counters;
  `reachability`: the card's message and the requester's reachability;
- `queries`: lists and lookups; `search`: the admins' `/cari`.
"""

from __future__ import annotations

from chatbot.services.tickets.checks import Checks
from chatbot.services.tickets.ending import Ending
from chatbot.services.tickets.errors import (
    IllegalMove,
    LinkAbandoned,
    NotYours,
    Reason,
    StaleMove,
    TicketError,
    TicketNotFound,
)
from chatbot.services.tickets.intake import Intake, NewDocument
from chatbot.services.tickets.links import LinkCounters
from chatbot.services.tickets.machine import (
    MOVES,
    SYSTEM,
    Actor,
    Move,
    parse_ticket_number,
    ticket_number,
)
from chatbot.services.tickets.queries import Queries
from chatbot.services.tickets.reachability import Reachability
from chatbot.services.tickets.readiness import Readiness
from chatbot.services.tickets.records import (
    LATE_ANSWER_BY_ANY,
    LATE_BY_SYSTEM,
    LATE_CANCELLED,
    LATE_ON_REQUESTER,
)
from chatbot.services.tickets.result import Result
from chatbot.services.tickets.search import Query, Search, SearchResult, parse_query
from chatbot.services.tickets.sweeps import Sweeps

__all__ = [
    "LATE_ANSWER_BY_ANY",
    "LATE_BY_SYSTEM",
    "LATE_CANCELLED",
    "LATE_ON_REQUESTER",
    "MOVES",
    "SYSTEM",
    "Actor",
    "IllegalMove",
    "LinkAbandoned",
    "Move",
    "NewDocument",
    "NotYours",
    "Query",
    "Reason",
    "SearchResult",
    "StaleMove",
    "TicketError",
    "TicketNotFound",
    "TicketService",
    "parse_query",
    "parse_ticket_number",
    "ticket_number",
]


class TicketService(
    Intake,
    Checks,
    Result,
    Readiness,
    Sweeps,
    Ending,
    LinkCounters,
    Reachability,
    Queries,
    Search,
):
    """The ticket service: every use case of the SOP, each in its own transaction."""
