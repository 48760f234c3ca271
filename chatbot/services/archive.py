"""Step 9: archive an ended ticket (SOP Pengarsipan) and fetch it as a ZIP.

Layout: STORAGE_DIR/archive/<year>/<ticket number>/ with
- documents/: the original files, named by kind, round and page;
- manifest.json: every step (actor, times, standard, outcome) and the SHA-256 of each file;
- lembar-kendali.pdf: the control sheet (`control_sheet.py`), the same facts for people;
- <number>.zip: the three above in one file for an admin to fetch (`bundle`). It is built on
  demand, the first time someone asks, not at archive time: step 9 stays quick, and a file
  nobody asks for does not double the space the documents take.

The folder is written to a `.partial` sibling first and renamed, so a crash never leaves half
an archive that looks whole; the PDF and the ZIP made later are written to a temporary name
and renamed too. Step 9's own record is made after the folder is written (`mark_archived`),
so the manifest and the PDF show step 9 as done by the system at the moment the folder was
written ("dicatat saat arsip ditulis"); the database's step 9 record follows seconds later.

Archives written before the PDF existed get it from `bundle`, which renders a missing PDF
from the database (the step 9 record then exists and is shown as recorded).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import AuditEvent, Document, Ticket, utcnow
from chatbot.services import control_sheet
from chatbot.services.documents import ACCEPTED
from chatbot.services.enums import Step, TicketState
from chatbot.services.pdf_fonts import Fonts
from chatbot.services.tickets import Actor, TicketService
from chatbot.store import Store

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PDF = control_sheet.FILE_NAME
DOCUMENTS = "documents"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def document_name(doc: Document) -> str:
    """The document's path inside the archive folder (and the ZIP)."""
    return f"{DOCUMENTS}/{doc.kind}-r{doc.round}-p{doc.page}.{ACCEPTED.get(doc.mime, 'bin')}"


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
                "office_minutes": (
                    round(record.office_seconds / 60, 1)
                    if record.office_seconds is not None
                    else None
                ),
                "late": record.late,
                "late_reason": record.late_reason,
                "late_reason_by": record.late_reason_by,
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


def write_atomically(target: Path, content: bytes) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename."""
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", delete=False
    ) as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    Path(handle.name).replace(target)


# Longer than an archive takes to write (documents are a few MB at most).
ARCHIVE_LOCK = timedelta(minutes=5)


# ---- the archiver ------------------------------------------------------------------------------


class Archiver:
    def __init__(
        self,
        tickets: TicketService,
        storage_dir: Path,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        *,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        fonts: Fonts | None = None,
        locks: Store | None = None,
    ) -> None:
        self._tickets = tickets
        self._root = storage_dir
        self._zone = zone
        self._now = clock
        # The ticket service's own sessions unless given (reads and audit rows).
        self._sessions = sessions or tickets.sessions
        self._fonts = fonts
        # Shared by the workers: one writer per ticket's archive (the sweep runs everywhere).
        self._locks = locks

    # ---- step 9 ------------------------------------------------------------------------------

    async def archive(self, ticket_id: int) -> Ticket:
        """Write the archive folder (file work off the event loop) and record step 9; one
        writer per ticket at a time, and never over a ticket already archived."""
        if self._locks is None:
            return await self._archive(ticket_id)
        async with self._locks.lock(f"archive:{ticket_id}", ARCHIVE_LOCK):
            return await self._archive(ticket_id)

    async def _archive(self, ticket_id: int) -> Ticket:
        started = self._now()
        ticket = await self._tickets.get(ticket_id)
        if ticket.state == TicketState.ARCHIVED:
            return ticket  # another worker (or an earlier try) finished it
        events = await self._events(ticket_id)
        year = ticket.created_at.astimezone(self._zone).year
        relative = Path("archive") / str(year) / str(ticket.number)
        await asyncio.to_thread(self._write, ticket, relative, started, events)
        return await self._tickets.mark_archived(
            ticket_id=ticket_id, archive_path=str(relative), started_at=started
        )

    def _write(
        self, ticket: Ticket, relative: Path, started: datetime, events: list[AuditEvent]
    ) -> None:
        final = self._root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        for left in [
            *final.parent.glob(f"{final.name}.partial-*"),
            *final.parent.glob(f"{final.name}.stale-*"),
        ]:  # a writer that crashed midway (its lock is gone, so nobody writes there now)
            shutil.rmtree(left, ignore_errors=True)
        # A folder of its own: a writer that lost its lock never touches another's files.
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f"{final.name}.partial-"))
        (staging / DOCUMENTS).mkdir()
        files: dict[int, str] = {}
        for doc in ticket.documents:
            name = document_name(doc)
            shutil.copyfile(self._root / doc.stored_path, staging / name)
            files[doc.id] = name
        data = manifest(ticket, files, self._zone)
        archived_at = self._now()
        standard = self._tickets.policy.standard(Step.ARCHIVE)
        data["archived_at"] = _iso(archived_at)
        data["steps"].append(
            {  # step 9 itself: this very archive
                "step": int(Step.ARCHIVE),
                "activity": Step.ARCHIVE.name.lower(),
                "actor": "Sistem",
                "started_at": _iso(started),
                "finished_at": _iso(archived_at),
                "standard_minutes": standard,
                "actual_minutes": round((archived_at - started).total_seconds() / 60, 1),
                "outcome": "diarsipkan",
                "note": str(relative),
            }
        )
        (staging / MANIFEST).write_text(
            json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        sheet = control_sheet.sheet_for(
            ticket,
            files,
            self._zone,
            archived_at=archived_at,
            archive_started_at=started,
            archive_standard=standard,
            events=events,
        )
        (staging / PDF).write_bytes(control_sheet.render(sheet, self._fonts))
        if final.exists():  # written before a crash that came before step 9 was recorded
            stale = final.with_name(f"{final.name}.stale-{os.getpid()}-{id(staging)}")
            final.rename(stale)
            shutil.rmtree(stale, ignore_errors=True)
        staging.rename(final)

    # ---- fetching ----------------------------------------------------------------------------

    def folder(self, ticket: Ticket) -> Path | None:
        """The ticket's archive folder, when it was archived."""
        return self._root / ticket.archive_path if ticket.archive_path else None

    async def bundle(self, number: str) -> Path | None:
        """The ZIP of an archived ticket (control sheet, manifest, documents), made if missing;
        a missing control sheet (an archive from before it existed) is rendered first.
        None when there is no such ticket, it is not archived, or retention purged it."""
        ticket = await self._tickets.find_by_number(number)
        if ticket is None or ticket.purged_at is not None:
            return None
        folder = self.folder(ticket)
        if folder is None or not (folder / MANIFEST).is_file():
            if folder is not None:
                log.warning("archive folder of %s is missing: %s", number, folder)
            return None
        data = json.loads(await asyncio.to_thread((folder / MANIFEST).read_text, "utf-8"))
        if data.get("purged_at"):
            return None  # retention ran (the database is updated last)
        if not (folder / PDF).is_file():
            events = await self._events(ticket.id)
            await asyncio.to_thread(self._write_sheet, ticket, folder, data, events)
        target = folder / f"{ticket.number}.zip"
        if not target.is_file():
            await asyncio.to_thread(self._zip, folder, target)
        fresh = await self._tickets.find_by_number(number)
        if fresh is None or fresh.purged_at is not None:
            # Retention ran meanwhile: what was just made from the old rows must go too.
            for made in (target, folder / PDF):
                made.unlink(missing_ok=True)
            return None
        return target

    def _write_sheet(
        self, ticket: Ticket, folder: Path, data: dict[str, Any], events: list[AuditEvent]
    ) -> None:
        step9 = next((s for s in ticket.steps if s.step == Step.ARCHIVE), None)
        recorded = data.get("archived_at")
        archived_at = (
            datetime.fromisoformat(recorded)
            if recorded
            else (step9.finished_at if step9 and step9.finished_at else self._now())
        )
        sheet = control_sheet.sheet_for(
            ticket,
            {doc.id: document_name(doc) for doc in ticket.documents},
            self._zone,
            archived_at=archived_at,
            archive_started_at=step9.started_at if step9 else archived_at,
            archive_standard=self._tickets.policy.standard(Step.ARCHIVE),
            events=events,
        )
        write_atomically(folder / PDF, control_sheet.render(sheet, self._fonts))

    @staticmethod
    def _zip(folder: Path, target: Path) -> None:
        documents = sorted(
            f"{DOCUMENTS}/{path.name}"
            for path in (folder / DOCUMENTS).glob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        names = [PDF, MANIFEST, *documents]
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{target.name}.", delete=False
        ) as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in names:
                    archive.write(folder / name, arcname=name)
            handle.flush()
            os.fsync(handle.fileno())
        Path(handle.name).replace(target)

    async def record_export(self, ticket: Ticket, actor: Actor, *, via: str) -> None:
        """The ZIP holds personal data: who took it out, and how, is on the audit trail."""
        async with self._sessions.begin() as session:
            session.add(
                AuditEvent(
                    ticket_id=ticket.id,
                    actor_id=actor.id,
                    actor_name=actor.name,
                    action="archive_exported",
                    detail={"via": via},
                )
            )

    async def _events(self, ticket_id: int) -> list[AuditEvent]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(AuditEvent)
                .where(AuditEvent.ticket_id == ticket_id)
                .order_by(AuditEvent.at, AuditEvent.id)
            )
            return list(rows.scalars())
