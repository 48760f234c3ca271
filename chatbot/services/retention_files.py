"""The files a retention purge deletes: an archive's documents, control sheet and ZIP, its
staging leftovers, the uploads it used, and uploads no request ever used.

Plain file work, run in a thread by `RetentionService`; what is gone already is fine (another
worker's purge may be deleting it at the same moment).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from chatbot.db.models import Ticket
from chatbot.services.archive import MANIFEST, write_atomically
from chatbot.services.retention_manifest import purged_manifest


def files_to_delete(
    root: Path, ticket: Ticket, uploads: Sequence[str], cutoff: datetime
) -> list[tuple[str, int]]:
    """Existing files to delete (relative to `root`, with their size): the archive folder but
    its manifest, its staging folder, and the uploads not touched since the cut-off."""
    return _archive_files(root, ticket) + _old_uploads(root, uploads, cutoff)


def _archive_files(root: Path, ticket: Ticket) -> list[tuple[str, int]]:
    if not ticket.archive_path:
        return []
    found: list[tuple[str, int]] = []
    folder = root / ticket.archive_path
    leftovers = sorted(folder.parent.glob(f"{folder.name}.partial*"))
    for base in (folder, *leftovers):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.parent == folder and path.name == MANIFEST:
                continue
            try:  # another worker's purge may be deleting it right now
                if path.is_file():
                    found.append((str(path.relative_to(root)), path.stat().st_size))
            except FileNotFoundError:
                continue
    return found


def _old_uploads(root: Path, uploads: Sequence[str], cutoff: datetime) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for relative in uploads:
        try:
            stat = (root / relative).stat()
        except FileNotFoundError:
            continue
        if stat.st_mtime > cutoff.timestamp():
            continue  # stored again recently (a draft may refer to it): keep it
        found.append((relative, stat.st_size))
    return found


def delete_files(
    root: Path, ticket: Ticket, uploads: Sequence[str], now: datetime, retention: timedelta
) -> tuple[int, int]:
    """The minimal manifest first, then every other file; returns (files, bytes) deleted."""
    doomed = files_to_delete(root, ticket, uploads, now - retention)
    assert ticket.archive_path is not None
    folder = root / ticket.archive_path
    folder.mkdir(parents=True, exist_ok=True)
    record = purged_manifest(ticket, now, retention)
    write_atomically(folder / MANIFEST, json.dumps(record, ensure_ascii=False, indent=2).encode())
    deleted = size = 0
    for relative, bytes_ in doomed:
        try:
            (root / relative).unlink()
        except FileNotFoundError:
            continue
        deleted += 1
        size += bytes_
    for leftover in (folder / "documents", folder.with_name(folder.name + ".partial")):
        shutil.rmtree(leftover, ignore_errors=True)
    for stray in folder.iterdir():  # temporary files of an interrupted write
        if stray.name != MANIFEST and stray.is_file():
            stray.unlink(missing_ok=True)
    _fsync_dir(folder)
    return deleted, size


def delete_orphans(root: Path, used: set[str], cutoff: float) -> int:
    """Delete the files under `root`/uploads that no ticket uses (`used`) and that were last
    touched before `cutoff` (a timestamp); returns how many."""
    deleted = 0
    for path in (root / "uploads").rglob("*"):
        relative = str(path.relative_to(root))
        try:
            old = path.is_file() and path.stat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if old and relative not in used:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


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
