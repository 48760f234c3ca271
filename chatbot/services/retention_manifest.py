"""The manifest an archive keeps after retention: the SOP record without personal data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chatbot.db.models import Ticket
from chatbot.services.enums import Step

REQUESTER_LABEL = "Pemohon"
# The requester's own steps: whoever acted in them is the requester, not staff.
REQUESTER_STEPS = (Step.SUBMIT, Step.SUPPLEMENT)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def requester_actor_ids(ticket: Ticket) -> set[str]:
    who = ticket.requester
    ids = {f"{who.channel}:{who.platform_user_id}"}
    ids.update(s.actor_id for s in ticket.steps if s.step in REQUESTER_STEPS and s.actor_id)
    return ids


def purged_manifest(ticket: Ticket, purged_at: datetime, retention: timedelta) -> dict[str, Any]:
    """What the archive keeps after retention: no name, NIP, contact or document content."""
    requester = requester_actor_ids(ticket)
    archived = next((s.finished_at for s in ticket.steps if s.step == Step.ARCHIVE), None)
    return {
        "ticket": ticket.number,
        "request_type": ticket.request_type,
        "role": ticket.role,
        "work_unit": ticket.work_unit,
        "outcome": ticket.outcome,
        "created_at": _iso(ticket.created_at),
        "closed_at": _iso(ticket.closed_at),
        "archived_at": _iso(archived),
        "purged_at": _iso(purged_at),
        "retention_days": retention.days,
        "note": "Data pribadi dan dokumen dihapus setelah masa retensi (UU 27/2022).",
        "incomplete_note": ticket.incomplete_note,
        "rejection_reason": ticket.rejection_reason,
        "phone_confirmed_by": ticket.phone_confirmed_by,
        "steps": [
            {
                "step": int(s.step),
                "activity": Step(s.step).name.lower(),
                "actor": REQUESTER_LABEL if s.actor_id in requester else s.actor_name,
                "started_at": _iso(s.started_at),
                "finished_at": _iso(s.finished_at),
                "standard_minutes": s.standard_minutes,
                "office_minutes": (
                    round(s.office_seconds / 60, 1) if s.office_seconds is not None else None
                ),
                "late": s.late,
                "late_reason": s.late_reason,
                "late_reason_by": s.late_reason_by,
                "outcome": s.outcome,
                "note": s.note,
            }
            for s in ticket.steps
        ],
        "documents": [
            {
                "kind": d.kind,
                "round": d.round,
                "page": d.page,
                "mime": d.mime,
                "size": d.size,
                "sha256": d.sha256,
            }
            for d in ticket.documents
        ],
    }
