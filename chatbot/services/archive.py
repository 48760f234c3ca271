"""Step 9: archive an ended ticket's documents and a manifest of its steps (SOP Pengarsipan).

Layout: STORAGE_DIR/archive/<year>/<ticket number>/ with the documents named by kind,
round and page, and manifest.json listing every step (actor, times, standard, outcome) and
the SHA-256 of each file. Written to a temporary folder first, then renamed, so a crash never
leaves half an archive that looks whole.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chatbot.db.models import Ticket, utcnow
from chatbot.services.documents import ACCEPTED
from chatbot.services.enums import Step
from chatbot.services.tickets import TicketService


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def manifest(ticket: Ticket, files: dict[int, str], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "ticket": ticket.number,
        "request_type": ticket.request_type,
        "state_at_archive": ticket.state,
        "outcome": ticket.outcome,
        "created_at": _iso(ticket.created_at),
        "closed_at": _iso(ticket.closed_at),
        "timezone": str(zone),
        "requester": {
            "name": ticket.full_name,
            "nip": ticket.nip,
            "role": ticket.role,
            "work_unit": ticket.work_unit,
            "spse_user_id": ticket.spse_user_id,
            "email": ticket.email,
            "phone": ticket.phone,
            "phone_verified": ticket.phone_verified,
            "channel": ticket.requester.channel,
        },
        "missing_at_check": ticket.missing,
        "incomplete_note": ticket.incomplete_note,
        "rejection_reason": ticket.rejection_reason,
        "phone_confirmed_by": ticket.phone_confirmed_by,
        "steps": [
            {
                "step": int(record.step),
                "activity": Step(record.step).name.lower(),
                "actor": record.actor_name,
                "started_at": _iso(record.started_at),
                "finished_at": _iso(record.finished_at),
                "standard_minutes": record.standard_minutes,
                "actual_minutes": (
                    round((record.finished_at - record.started_at).total_seconds() / 60, 1)
                    if record.finished_at
                    else None
                ),
                "outcome": record.outcome,
                "note": record.note,
            }
            for record in ticket.steps
        ],
        "documents": [
            {
                "file": files[doc.id],
                "kind": doc.kind,
                "round": doc.round,
                "page": doc.page,
                "mime": doc.mime,
                "size": doc.size,
                "sha256": doc.sha256,
            }
            for doc in ticket.documents
        ],
    }


class Archiver:
    def __init__(
        self,
        tickets: TicketService,
        storage_dir: Path,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._tickets = tickets
        self._root = storage_dir
        self._zone = zone
        self._now = clock

    async def archive(self, ticket_id: int) -> Ticket:
        """Write the archive folder (file work off the event loop) and record step 9."""
        started = self._now()
        ticket = await self._tickets.get(ticket_id)
        year = ticket.created_at.astimezone(self._zone).year
        relative = Path("archive") / str(year) / str(ticket.number)
        await asyncio.to_thread(self._write, ticket, relative, started)
        return await self._tickets.mark_archived(
            ticket_id=ticket_id, archive_path=str(relative), started_at=started
        )

    def _write(self, ticket: Ticket, relative: Path, started: datetime) -> None:
        final = self._root / relative
        staging = final.with_name(final.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "documents").mkdir(parents=True)
        files: dict[int, str] = {}
        for doc in ticket.documents:
            name = f"{doc.kind}-r{doc.round}-p{doc.page}.{ACCEPTED.get(doc.mime, 'bin')}"
            shutil.copyfile(self._root / doc.stored_path, staging / "documents" / name)
            files[doc.id] = f"documents/{name}"
        data = manifest(ticket, files, self._zone)
        archived_at = self._now()
        data["archived_at"] = _iso(archived_at)
        data["steps"].append(
            {  # step 9 itself: this very archive
                "step": int(Step.ARCHIVE),
                "activity": Step.ARCHIVE.name.lower(),
                "actor": "Sistem",
                "started_at": _iso(started),
                "finished_at": _iso(archived_at),
                "standard_minutes": self._tickets.policy.standard(Step.ARCHIVE),
                "actual_minutes": round((archived_at - started).total_seconds() / 60, 1),
                "outcome": "diarsipkan",
                "note": str(relative),
            }
        )
        (staging / "manifest.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
