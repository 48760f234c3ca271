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

Here: what is due and the order of a purge; the kept manifest is `retention_manifest.py`, the
files `retention_files.py`, the database's blanking `retention_blanking.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import Document, Ticket, utcnow
from chatbot.services.retention_blanking import REMOVED, blank_personal_data
from chatbot.services.retention_files import delete_files, delete_orphans, files_to_delete
from chatbot.services.retention_manifest import purged_manifest

__all__ = [
    "ORPHAN_AFTER",
    "REMOVED",
    "PurgeItem",
    "PurgeResult",
    "RetentionService",
    "purge_due",
    "purged_manifest",
]

log = logging.getLogger(__name__)

# Uploads of drafts that were never sent: kept past a draft's own lifetime (a dialog's
# DIALOG_TTL, 30 days; a test ties the two), then deleted.
ORPHAN_AFTER = timedelta(days=31)


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
            files = await asyncio.to_thread(files_to_delete, self._root, ticket, uploads, cutoff)
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

        deleted = await asyncio.to_thread(delete_orphans, self._root, used, cutoff)
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
        files, size = await asyncio.to_thread(
            delete_files, self._root, ticket, uploads, now, self.retention
        )
        async with self._sessions.begin() as session:
            blanked = await self._blank(session, ticket.id, self._now(), files=files, size=size)
        return (files, size) if blanked else None

    async def _blank(
        self, session: AsyncSession, ticket_id: int, now: datetime, *, files: int, size: int
    ) -> bool:
        """The database's part (a method of its own: a test cuts a purge short here)."""
        return await blank_personal_data(
            session, ticket_id, now, files=files, size=size, retention=self.retention
        )


async def purge_due(
    sessions: async_sessionmaker[AsyncSession],
    storage_dir: Path,
    retention: timedelta,
    *,
    now: datetime | None = None,
) -> PurgeResult:
    """The housekeeping hook: purge every archive past its retention period."""
    return await RetentionService(sessions, storage_dir, retention).purge_due(now)
