"""One name per person on a ticket, wherever its people are shown (card, lembar kendali).

A ticket's records keep the name an actor had when they acted: an admin's Telegram name of
that day, the requester's Telegram name for some actions and the name from their SK for
others. Shown as stored, one person would appear under several names. Here the requester
is always shown by the name on the ticket (as in the SK), and an admin by the newest name
the ticket recorded for their id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chatbot.db.models import AuditEvent, Ticket
from chatbot.services.tickets import SYSTEM

SYSTEM_ID = SYSTEM.id
# After retention the requester's records say only this (services/retention.py, which
# cannot be imported here: it imports the archive, which imports this module).
PURGED_REQUESTER_ID = "requester"
PURGED_REQUESTER_NAME = "Pemohon"


@dataclass
class Names:
    """Resolves (actor id, recorded name) to the one name to show."""

    requester_ids: set[str]
    requester_name: str
    by_id: dict[str, str] = field(default_factory=dict)
    # Any name an id was recorded under -> that id, for fields that keep a name only.
    ids_by_name: dict[str, str] = field(default_factory=dict)

    def of(self, actor_id: str | None, recorded: str | None) -> str | None:
        """The name to show for an actor; None when nobody is recorded."""
        if actor_id is None and recorded is not None:
            actor_id = self.ids_by_name.get(recorded)
        if actor_id == SYSTEM_ID:
            return SYSTEM.name
        if actor_id in self.requester_ids:
            return self.requester_name
        if actor_id is not None and actor_id in self.by_id:
            return self.by_id[actor_id]
        return recorded

    def named(self, recorded: str | None) -> str | None:
        """A field that kept a name only (e.g. who confirmed by phone)."""
        return self.of(None, recorded)


def names_of(ticket: Ticket, events: Sequence[AuditEvent] = ()) -> Names:
    """The ticket's people; `events` (its audit trail, oldest first) add their names."""
    requester = ticket.requester
    ids = {f"{requester.channel}:{requester.platform_user_id}", PURGED_REQUESTER_ID}
    purged = ticket.purged_at is not None
    names = Names(
        requester_ids=ids,
        requester_name=PURGED_REQUESTER_NAME if purged else ticket.full_name,
    )
    seen = [
        (r.finished_at or r.started_at, r.actor_id, r.actor_name)
        for r in ticket.steps
        if r.actor_id and r.actor_name
    ]
    seen += [(e.at, e.actor_id, e.actor_name) for e in events if e.actor_id and e.actor_name]
    seen.sort(key=lambda item: item[0])
    _learn(names, seen)
    return names


def _learn(names: Names, seen: Iterable[tuple[datetime, str, str]]) -> None:
    for _at, actor_id, name in seen:
        names.by_id[actor_id] = name  # later wins: the newest name
        names.ids_by_name.setdefault(name, actor_id)
