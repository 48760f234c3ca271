"""Retention (UU 27/2022): past ARCHIVE_RETENTION, documents go and personal data is blanked;
the SOP's record (steps, staff, times, hashes) stays. `chatbot archive purge` asks first."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.cli import main
from chatbot.conversations.state import DIALOG_TTL
from chatbot.db.models import AuditEvent, Requester, Ticket, utcnow
from chatbot.services.archive import Archiver
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import DocumentKind, MissingItem, RequestType
from chatbot.services.retention import ORPHAN_AFTER, PurgeResult, RetentionService
from chatbot.services.tickets import Actor, NewDocument, TicketService
from chatbot.settings import Settings
from tests.factories import ADMIN, NIP, identity, pdf_bytes, png_bytes

RETENTION = timedelta(days=730)
LONG_AGO = timedelta(days=800)


@pytest.fixture
def archiver(tickets: TicketService, settings: Settings) -> Archiver:
    return Archiver(tickets, settings.storage_dir, settings.zone)


@pytest.fixture
def retention(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> RetentionService:
    return RetentionService(sessions, settings.storage_dir, RETENTION)


async def archived_ticket(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    *,
    chat: str,
    label: str,
    closed_ago: timedelta | None,
    name: str = "Budi Santoso",
) -> Ticket:
    """A rejected, archived ticket with documents of its own (`label` makes them unique),
    closed `closed_ago` (None: just now); its uploads are as old as its closing."""
    requester = Actor(id=f"telegram:{chat}", name=name)
    ticket = await tickets.submit(
        channel="telegram",
        chat_id=chat,
        actor=requester,
        identity=identity(name=name),
        request_type=RequestType.RESET_PASSWORD,
        documents=[
            NewDocument(DocumentKind.LETTER, files.keep(pdf_bytes(label), original_name="s.pdf")),
            NewDocument(DocumentKind.SK, files.keep(png_bytes(sum(label.encode()) % 256))),
        ],
    )
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason="SK tidak berlaku"
    )
    ticket = await archiver.archive(ticket.id)
    if closed_ago is not None:
        await age(archiver, files, ticket, closed_ago)
    return await tickets.get(ticket.id)


async def age(archiver: Archiver, files: DocumentStore, ticket: Ticket, ago: timedelta) -> None:
    """As if the ticket had closed `ago`, its uploads stored then too."""
    when = utcnow() - ago
    async with archiver._sessions.begin() as session:
        await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(closed_at=when))
    for doc in ticket.documents:
        os.utime(files.absolute(doc.stored_path), (when.timestamp(), when.timestamp()))


async def test_the_plan_lists_only_archived_tickets_past_retention(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    retention: RetentionService,
    settings: Settings,
) -> None:
    due = await archived_ticket(tickets, files, archiver, chat="1", label="A", closed_ago=LONG_AGO)
    await archived_ticket(tickets, files, archiver, chat="2", label="B", closed_ago=timedelta(700))
    await archived_ticket(tickets, files, archiver, chat="3", label="C", closed_ago=None)
    still_open = await tickets.submit(
        channel="telegram",
        chat_id="4",
        actor=Actor("telegram:4", "Rina"),
        identity=identity(name="Rina"),
        request_type=RequestType.USER_ID,
        documents=[
            NewDocument(DocumentKind.LETTER, files.keep(pdf_bytes("D"))),
            NewDocument(DocumentKind.SK, files.keep(png_bytes(4))),
        ],
    )
    assert await archiver.bundle(str(due.number)) is not None  # a ZIP to delete too

    plan = await retention.plan()

    assert [item.number for item in plan] == [due.number]
    item = plan[0]
    folder = f"archive/{due.created_at.astimezone(settings.zone).year}/{due.number}"
    assert set(item.files) == {
        f"{folder}/lembar-kendali.pdf",
        f"{folder}/{due.number}.zip",
        *(f"{folder}/{doc}" for doc in ("documents/letter-r1-p1.pdf", "documents/sk-r1-p1.png")),
        *(doc.stored_path for doc in due.documents),
    }
    assert item.bytes == sum((settings.storage_dir / path).stat().st_size for path in item.files)
    assert still_open.number not in [i.number for i in plan]
    # A later clock makes the others due as well (not the open one).
    later = await retention.plan(utcnow() + timedelta(days=731))
    assert len(later) == 3


async def test_purge_deletes_the_files_blanks_the_person_and_keeps_the_record(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    retention: RetentionService,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    ticket = await archived_ticket(
        tickets, files, archiver, chat="1", label="A", closed_ago=LONG_AGO
    )
    await archiver.bundle(str(ticket.number))
    hashes = [doc.sha256 for doc in ticket.documents]
    plan = await retention.plan()

    result = await retention.purge(plan)

    assert result.purged == [ticket.number]
    assert result.files == len(plan[0].files) == 6 and result.bytes == plan[0].bytes
    for path in plan[0].files:
        assert not (settings.storage_dir / path).exists()
    folder = settings.storage_dir / str(ticket.archive_path)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]
    kept = (folder / "manifest.json").read_text()
    assert NIP not in kept and "Budi" not in kept and "budi@" not in kept
    record = json.loads(kept)
    assert record["purged_at"] and [s["step"] for s in record["steps"]] == [1, 2, 5, 7, 9]
    assert record["steps"][0]["actor"] == "Pemohon"
    assert [d["sha256"] for d in record["documents"]] == hashes

    purged = await tickets.get(ticket.id)
    assert purged.purged_at is not None
    assert (purged.full_name, purged.nip, purged.email, purged.phone) == ("(dihapus)", "", "", None)
    assert purged.rejection_reason == "SK tidak berlaku"
    assert [(s.step, s.actor_name) for s in purged.steps] == [
        (1, "Pemohon"),
        (2, ADMIN.name),
        (5, ADMIN.name),
        (7, ADMIN.name),
        (9, "Sistem"),
    ]
    assert all(s.finished_at is not None for s in purged.steps)
    assert [d.sha256 for d in purged.documents] == hashes
    assert all(d.stored_path == "" and d.original_name is None for d in purged.documents)
    async with sessions() as session:
        requester = await session.get(Requester, purged.requester_id)
        assert requester is not None
        assert (requester.full_name, requester.nip, requester.phone) == ("(dihapus)", "", None)
        assert requester.chat_id != "1"
        events = (
            await session.execute(select(AuditEvent).where(AuditEvent.ticket_id == ticket.id))
        ).scalars()
        by_action = {e.action: e for e in events}
    assert by_action["purged"].detail["files"] == 6
    assert by_action["submitted"].actor_name == "Pemohon"
    assert await archiver.bundle(str(ticket.number)) is None
    # Running again purges nothing.
    assert await retention.plan() == []
    assert await retention.purge(plan) == PurgeResult(skipped=[str(ticket.number)])


async def test_shared_uploads_and_a_requester_still_served_are_kept(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    retention: RetentionService,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old = await archived_ticket(tickets, files, archiver, chat="1", label="A", closed_ago=LONG_AGO)
    # The same chat sent the same letter (same bytes, one stored file) a month ago.
    recent = await archived_ticket(
        tickets, files, archiver, chat="1", label="A", closed_ago=timedelta(days=30)
    )
    assert {d.stored_path for d in old.documents} == {d.stored_path for d in recent.documents}

    plan = await retention.plan()
    assert [item.number for item in plan] == [old.number]
    assert not any(path.startswith("uploads/") for path in plan[0].files)
    await retention.purge(plan)

    for doc in recent.documents:
        assert files.absolute(doc.stored_path).is_file()
    assert await archiver.bundle(str(recent.number)) is not None
    async with sessions() as session:
        requester = await session.get(Requester, recent.requester_id)
        assert requester is not None and requester.nip == NIP and requester.chat_id == "1"
    kept = await tickets.get(recent.id)
    assert kept.full_name == "Budi Santoso" and kept.purged_at is None


async def test_a_purge_cut_short_is_finished_by_the_next_run(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    retention: RetentionService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticket = await archived_ticket(
        tickets, files, archiver, chat="1", label="A", closed_ago=LONG_AGO
    )

    async def crash(*_: object, **__: object) -> bool:
        raise ConnectionError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(RetentionService, "_blank", crash)
        with pytest.raises(ConnectionError):
            await retention.purge_due()
    # Files are gone, the database not updated yet: the ZIP is refused all the same.
    assert (await tickets.get(ticket.id)).purged_at is None
    assert await archiver.bundle(str(ticket.number)) is None

    result = await retention.purge_due()

    assert result.purged == [ticket.number] and result.files == 0
    assert (await tickets.get(ticket.id)).full_name == "(dihapus)"
    assert (await retention.purge_due()).purged == []


# ---- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for key, value in {
        "DATABASE_URL": settings.database_url,
        "STORAGE_DIR": str(settings.storage_dir),
        "REDIS_URL": "",
        "TELEGRAM_BOT_TOKEN": "",
        "TELEGRAM_ADMIN_CHAT_ID": "",
        "ARCHIVE_RETENTION": "730d",
        "TIMEZONE": "Asia/Jakarta",
    }.items():
        monkeypatch.setenv(key, value)


async def cli(*args: str) -> int:
    """The command as an operator runs it (its own event loop, in a thread)."""
    return await asyncio.to_thread(main, list(args))


@pytest.mark.usefixtures("cli_env")
async def test_purge_without_yes_only_lists_and_with_yes_purges_once(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ticket = await archived_ticket(
        tickets, files, archiver, chat="1", label="A", closed_ago=LONG_AGO
    )
    await archived_ticket(tickets, files, archiver, chat="2", label="B", closed_ago=None)
    closed = (utcnow() - LONG_AGO).astimezone(settings.zone)
    pdf = settings.storage_dir / str(ticket.archive_path) / "lembar-kendali.pdf"

    assert await cli("archive", "purge") == 0

    out = capsys.readouterr().out
    assert "1 archived ticket(s) closed more than 730 days ago" in out
    assert f"{ticket.number}  closed {closed:%Y-%m-%d}  5 file(s)" in out
    assert "lembar-kendali.pdf" in out and ticket.documents[0].stored_path in out
    assert "Dry run: nothing was deleted" in out and "chatbot archive purge --yes" in out
    assert pdf.is_file()
    assert (await tickets.get(ticket.id)).purged_at is None

    assert await cli("archive", "purge", "--yes") == 0

    out = capsys.readouterr().out
    assert "Purged 1 ticket(s): 5 file(s)" in out
    assert not pdf.exists()
    assert (await tickets.get(ticket.id)).nip == ""

    assert await cli("archive", "purge", "--yes") == 0
    assert "nothing to delete" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
async def test_export_copies_the_zip_out_and_audits_it(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ticket = await archived_ticket(tickets, files, archiver, chat="1", label="A", closed_ago=None)

    assert await cli("archive", "export", str(ticket.number).replace("-", ""), "--out", "out") == 0

    target = tmp_path / "out" / f"arsip-{ticket.number}.zip"
    assert target.read_bytes()[:2] == b"PK"
    assert str(target.name) in capsys.readouterr().out
    async with sessions() as session:
        exported = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "archive_exported"))
        ).scalar_one()
    assert exported.ticket_id == ticket.id and exported.detail == {"via": "cli"}

    assert await cli("archive", "export", "2101-9999") == 1
    assert "no such ticket" in capsys.readouterr().err


async def test_uploads_of_requests_never_sent_are_deleted_after_a_drafts_lifetime(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    retention: RetentionService,
) -> None:
    """A requester uploads and walks away: nothing points at the file; once no draft could
    still hold it, it goes. A file a ticket uses, or one just sent again, stays."""
    sent = await archived_ticket(
        tickets, files, archiver, chat="1", label="dipakai", closed_ago=timedelta(days=40)
    )
    abandoned = files.keep(pdf_bytes("ditinggal"))
    recent = files.keep(pdf_bytes("draf baru"))
    old = (utcnow() - timedelta(days=40)).timestamp()
    for stored in (abandoned, recent):
        os.utime(files.absolute(stored.path), (old, old))
    files.keep(pdf_bytes("draf baru"))  # sent again today: touched

    assert await retention.purge_orphans() == 1

    assert not files.absolute(abandoned.path).exists()
    assert files.absolute(recent.path).exists()
    assert all(files.absolute(d.stored_path).exists() for d in sent.documents)
    assert await retention.purge_orphans() == 0


def test_an_orphan_outlives_any_draft() -> None:
    assert ORPHAN_AFTER > DIALOG_TTL


async def test_purge_blanks_the_identity_a_supplement_replaced(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    retention: RetentionService,
) -> None:
    requester = Actor(id="telegram:5", name="Budi")
    ticket = await tickets.submit(
        channel="telegram",
        chat_id="5",
        actor=requester,
        identity=identity(name="Budi"),
        request_type=RequestType.RESET_PASSWORD,
        documents=[
            NewDocument(DocumentKind.LETTER, files.keep(pdf_bytes("E"))),
            NewDocument(DocumentKind.SK, files.keep(png_bytes(5))),
        ],
    )
    ticket = await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.IDENTITY],
        note="Nama lengkap sesuai SK",
    )
    ticket = await tickets.supplement(
        ticket_id=ticket.id,
        channel="telegram",
        chat_id="5",
        actor=requester,
        documents=[],
        identity=identity(name="Budi Santoso Wibowo"),
    )
    assert ticket.identity_changes[0]["old"] == "Budi"
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason="SK tidak berlaku"
    )
    ticket = await archiver.archive(ticket.id)
    await age(archiver, files, ticket, LONG_AGO)

    await retention.purge(await retention.plan())

    purged = await tickets.get(ticket.id)
    assert purged.purged_at is not None
    assert purged.identity_changes == []
