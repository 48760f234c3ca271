"""Retention of archives (UU 27/2022: personal data no longer than needed).

A ticket is due when it was archived, is not purged yet, and closed longer ago than
ARCHIVE_RETENTION (730 days unless configured). Purging it:

1. replaces manifest.json with a record without personal data (`purged_manifest`): the
   ticket number, type, role and work unit, outcome and times, every step with its staff
   actor, times, standard, outcome, notes and late reasons, and each document's kind, size and
   SHA-256 (proof of what was received, without the content). This is the only file kept:
   the control sheet and the ZIP are deleted, not rewritten, since the same record stays in
   the database and the manifest;
2. deletes the archive's documents, the control sheet, the ZIP, and the uploads the ticket
   used. An upload is content-addressed and may be shared: it is kept while another ticket
   not purged uses it, or while its file was touched after the cut-off (a draft may hold it);
3. in one transaction: blanks the ticket's personal data (name "(dihapus)", NIP, e-mail and
   phone empty, SPSE user id none, the identity changes of supplements), the requester's
   own entries among the step actors and audit events ("Pemohon"), the documents' stored
   paths and file names, and, when no other ticket of that requester is left unpurged, the
   requester row too (its chat id replaced, so a returning person starts afresh); sets
   `purged_at`; audits "purged".

The files go first and the database last: a crash midway leaves the ticket due, and the next
run (idempotent: what is gone is skipped) finishes it. A purged manifest makes `bundle`
refuse even before the database says so. Kept: step records (staff and times), decisions
and their reasons, document hashes, the audit trail without the requester's name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import AuditEvent, Document, StepRecord, Ticket, utcnow
from chatbot.services.archive import MANIFEST, write_atomically
from chatbot.services.enums import Step

log = logging.getLogger(__name__)

# Uploads of drafts that were never sent: kept past a draft's own lifetime (a dialog's
# DIALOG_TTL, 30 days; a test ties the two), then deleted.
ORPHAN_AFTER = timedelta(days=31)

REMOVED = "(dihapus)"
REQUESTER_LABEL = "Pemohon"
REQUESTER_ACTOR = "requester"
# The requester's own steps: whoever acted in them is the requester, not staff.
REQUESTER_STEPS = (Step.SUBMIT, Step.SUPPLEMENT)


@dataclass(frozen=True)
class PurgeItem:
    """One ticket due for purging and what it would delete (paths relative to STORAGE_DIR)."""

    ticket_id: int
    number: str
    closed_at: datetime
    files: tuple[str, ...]
    bytes: int


@dataclass
class PurgeResult:
    purged: list[str] = field(default_factory=list)  # ticket numbers
    files: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)  # no longer due (purged meanwhile, ...)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _requester_actor_ids(ticket: Ticket) -> set[str]:
    who = ticket.requester
    ids = {f"{who.channel}:{who.platform_user_id}"}
    ids.update(s.actor_id for s in ticket.steps if s.step in REQUESTER_STEPS and s.actor_id)
    return ids


def purged_manifest(ticket: Ticket, purged_at: datetime, retention: timedelta) -> dict[str, Any]:
    """What the archive keeps after retention: no name, NIP, contact or document content."""
    requester = _requester_actor_ids(ticket)
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


class RetentionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        storage_dir: Path,
        retention: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._root = storage_dir
        self.retention = retention
        self._now = clock

    # ---- what is due ---------------------------------------------------------------------------

    async def plan(self, now: datetime | None = None) -> list[PurgeItem]:
        """The tickets due now, oldest first, each with the files its purge deletes. An
        upload shared by several due tickets is listed with the last of them (the one whose
        purge deletes it)."""
        cutoff = (now or self._now()) - self.retention
        async with self._sessions() as session:
            due = list(
                (
                    await session.execute(
                        select(Ticket)
                        .where(
                            Ticket.archive_path.is_not(None),
                            Ticket.purged_at.is_(None),
                            Ticket.closed_at.is_not(None),
                            Ticket.closed_at <= cutoff,
                        )
                        .order_by(Ticket.closed_at, Ticket.id)
                    )
                )
                .unique()
                .scalars()
            )
            if not due:
                return []  # the usual case, every 15 minutes: no need to read every path
            others = await self._uploads_in_use(session, exclude={t.id for t in due})
        # Each due ticket's uploads, minus those in use elsewhere or by a later due ticket.
        claimed: dict[str, int] = {}
        for ticket in due:
            for doc in ticket.documents:
                if doc.stored_path and doc.stored_path not in others:
                    claimed[doc.stored_path] = ticket.id
        items = []
        for ticket in due:
            uploads = sorted(p for p, owner in claimed.items() if owner == ticket.id)
            files = await asyncio.to_thread(self._files, ticket, uploads, cutoff)
            items.append(
                PurgeItem(
                    ticket_id=ticket.id,
                    number=str(ticket.number),
                    closed_at=ticket.closed_at or cutoff,
                    files=tuple(path for path, _ in files),
                    bytes=sum(size for _, size in files),
                )
            )
        return items

    @staticmethod
    async def _uploads_in_use(session: AsyncSession, *, exclude: set[int]) -> set[str]:
        """Stored paths used by tickets that are not purged and not in `exclude`."""
        rows = await session.execute(
            select(Document.stored_path)
            .join(Ticket, Ticket.id == Document.ticket_id)
            .where(Ticket.purged_at.is_(None), Ticket.id.not_in(exclude or {-1}))
        )
        return {path for path in rows.scalars() if path}

    def _files(
        self, ticket: Ticket, uploads: Sequence[str], cutoff: datetime
    ) -> list[tuple[str, int]]:
        """Existing files to delete: the archive folder but its manifest, its staging folder,
        and the uploads not touched since the cut-off."""
        found: list[tuple[str, int]] = []
        if ticket.archive_path:
            folder = self._root / ticket.archive_path
            leftovers = sorted(folder.parent.glob(f"{folder.name}.partial*"))
            for base in (folder, *leftovers):
                if not base.is_dir():
                    continue
                for path in sorted(base.rglob("*")):
                    if path.parent == folder and path.name == MANIFEST:
                        continue
                    try:  # another worker's purge may be deleting it right now
                        if path.is_file():
                            found.append((str(path.relative_to(self._root)), path.stat().st_size))
                    except FileNotFoundError:
                        continue
        for relative in uploads:
            path = self._root / relative
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if stat.st_mtime > cutoff.timestamp():
                continue  # stored again recently (a draft may refer to it): keep it
            found.append((relative, stat.st_size))
        return found

    # ---- purging -----------------------------------------------------------------------------

    async def purge(self, items: Sequence[PurgeItem], now: datetime | None = None) -> PurgeResult:
        """Purge the planned tickets; each is checked again first (due at `now`, by default
        the clock), so a stale plan or a second run purges nothing twice. Uploads are deleted
        only if still unused."""
        result = PurgeResult()
        for item in items:
            done = await self._purge_one(item, now or self._now())
            if done is None:
                result.skipped.append(item.number)
                continue
            files, size = done
            result.purged.append(item.number)
            result.files += files
            result.bytes += size
        return result

    async def purge_orphans(self, now: datetime | None = None) -> int:
        """Delete uploads no ticket uses that were last touched before any draft could still
        hold them (a draft lives DIALOG_TTL; sending the same file again touches it): the
        documents of requests that were never sent. Returns how many were deleted."""
        cutoff = ((now or self._now()) - ORPHAN_AFTER).timestamp()
        uploads = self._root / "uploads"
        if not uploads.is_dir():
            return 0
        async with self._sessions() as session:
            used = await self._uploads_in_use(session, exclude=set())

        def sweep() -> int:
            deleted = 0
            for path in uploads.rglob("*"):
                relative = str(path.relative_to(self._root))
                try:
                    old = path.is_file() and path.stat().st_mtime < cutoff
                except FileNotFoundError:
                    continue
                if old and relative not in used:
                    path.unlink(missing_ok=True)
                    deleted += 1
            return deleted

        deleted = await asyncio.to_thread(sweep)
        if deleted:
            log.info("retention deleted %d upload(s) of requests never sent", deleted)
        return deleted

    async def purge_due(self, now: datetime | None = None) -> PurgeResult:
        """Plan and purge in one go: for the daily housekeeping."""
        now = now or self._now()
        await self.purge_orphans(now)
        result = await self.purge(await self.plan(now), now)
        if result.purged:
            log.info(
                "retention purged %d archived ticket(s), %d file(s), %d bytes",
                len(result.purged),
                result.files,
                result.bytes,
            )
        return result

    async def _purge_one(self, item: PurgeItem, now: datetime) -> tuple[int, int] | None:
        async with self._sessions() as session:
            ticket = await session.get(Ticket, item.ticket_id, populate_existing=True)
            if (
                ticket is None
                or ticket.purged_at is not None
                or ticket.archive_path is None
                or ticket.closed_at is None
                or ticket.closed_at > now - self.retention
            ):
                return None
            others = await self._uploads_in_use(session, exclude={ticket.id})
            uploads = [
                d.stored_path
                for d in ticket.documents
                if d.stored_path and d.stored_path not in others
            ]
        files, size = await asyncio.to_thread(self._delete_files, ticket, uploads, now)
        async with self._sessions.begin() as session:
            blanked = await self._blank(session, ticket.id, self._now(), files=files, size=size)
        return (files, size) if blanked else None

    def _delete_files(
        self, ticket: Ticket, uploads: Sequence[str], now: datetime
    ) -> tuple[int, int]:
        """The minimal manifest first, then every other file; what is gone already is fine."""
        cutoff = now - self.retention
        doomed = self._files(ticket, uploads, cutoff)
        assert ticket.archive_path is not None
        folder = self._root / ticket.archive_path
        folder.mkdir(parents=True, exist_ok=True)
        record = purged_manifest(ticket, now, self.retention)
        write_atomically(
            folder / MANIFEST, json.dumps(record, ensure_ascii=False, indent=2).encode()
        )
        deleted = size = 0
        for relative, bytes_ in doomed:
            try:
                (self._root / relative).unlink()
            except FileNotFoundError:
                continue
            deleted += 1
            size += bytes_
        for leftover in (folder / "documents", folder.with_name(folder.name + ".partial")):
            shutil.rmtree(leftover, ignore_errors=True)
        for stray in folder.iterdir():  # temporary files of an interrupted write
            if stray.name != MANIFEST and stray.is_file():
                stray.unlink(missing_ok=True)
        self._fsync_dir(folder)
        return deleted, size

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        try:
            handle = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(handle)
        except OSError:
            pass
        finally:
            os.close(handle)

    async def _blank(
        self, session: AsyncSession, ticket_id: int, now: datetime, *, files: int, size: int
    ) -> bool:
        claimed = await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.purged_at.is_(None))
            .values(purged_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False  # another run purged it meanwhile
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        assert ticket is not None
        requester_ids = _requester_actor_ids(ticket)
        names = {ticket.full_name, ticket.requester.full_name}
        ticket.full_name = REMOVED
        ticket.nip = ""
        ticket.email = ""
        ticket.phone = None
        ticket.phone_verified = False
        ticket.spse_user_id = None
        ticket.identity_changes = []  # old and new names, NIPs, e-mails
        if ticket.last_actor_name in names:
            ticket.last_actor_name = REQUESTER_LABEL
        for doc in ticket.documents:
            doc.stored_path = ""
            doc.original_name = None
            doc.platform_file_id = None
        await session.execute(
            update(StepRecord)
            .where(StepRecord.ticket_id == ticket_id, StepRecord.actor_id.in_(requester_ids))
            .values(actor_id=REQUESTER_ACTOR, actor_name=REQUESTER_LABEL)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(AuditEvent)
            .where(AuditEvent.ticket_id == ticket_id, AuditEvent.actor_id.in_(requester_ids))
            .values(actor_id=REQUESTER_ACTOR, actor_name=REQUESTER_LABEL)
            .execution_options(synchronize_session=False)
        )
        requester = ticket.requester
        unpurged = await session.scalar(
            select(Ticket.id)
            .where(
                Ticket.requester_id == requester.id,
                Ticket.id != ticket_id,
                Ticket.purged_at.is_(None),
            )
            .limit(1)
        )
        requester_blanked = unpurged is None
        if requester_blanked:
            requester.full_name = REMOVED
            requester.nip = ""
            requester.email = ""
            requester.phone = None
            requester.phone_verified = False
            requester.spse_user_id = None
            requester.chat_id = f"dihapus:{requester.id}"
            requester.platform_user_id = ""
        session.add(
            AuditEvent(
                ticket_id=ticket_id,
                actor_id="system",
                actor_name="Sistem",
                action="purged",
                detail={
                    "files": files,
                    "bytes": size,
                    "retention_days": self.retention.days,
                    "requester_blanked": requester_blanked,
                },
            )
        )
        return True


async def purge_due(
    sessions: async_sessionmaker[AsyncSession],
    storage_dir: Path,
    retention: timedelta,
    *,
    now: datetime | None = None,
) -> PurgeResult:
    """The housekeeping hook: purge every archive past its retention period."""
    return await RetentionService(sessions, storage_dir, retention).purge_due(now)
