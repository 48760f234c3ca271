"""Step 9's record: the control sheet (PDF) says what happened, the ZIP holds it all."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import StepRecord, Ticket
from chatbot.services import control_sheet
from chatbot.services.archive import Archiver
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import RequestType, Step, TicketState
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.store import Store
from tests.factories import ADMIN, REQUESTER, documents, identity, submitted_ticket

LATE_REASON = "Server SPSE sedang gangguan"


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


@pytest.fixture
def archiver(tickets: TicketService, settings: Settings) -> Archiver:
    return Archiver(tickets, settings.storage_dir, settings.zone)


async def rejected_with_a_late_step(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> Ticket:
    """Steps 1, 2, 5 and 7; step 2 took 15 office minutes against its 5 and was explained."""
    ticket = await submitted_ticket(tickets, files)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    async with sessions.begin() as session:
        await session.execute(
            update(StepRecord)
            .where(StepRecord.ticket_id == ticket.id, StepRecord.step == Step.CHECK_COMPLETENESS)
            .values(office_seconds=15 * 60, late_reason=LATE_REASON, late_reason_by=ADMIN.name)
        )
    return await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason="NIP tidak cocok"
    )


async def test_the_control_sheet_shows_the_ticket_its_steps_reasons_and_hashes(
    tickets: TicketService,
    files: DocumentStore,
    sessions: async_sessionmaker[AsyncSession],
    archiver: Archiver,
    settings: Settings,
) -> None:
    ticket = await rejected_with_a_late_step(tickets, files, sessions)
    archived = await archiver.archive(ticket.id)
    assert archived.state == TicketState.ARCHIVED

    folder = settings.storage_dir / str(archived.archive_path)
    text = pdf_text((folder / "lembar-kendali.pdf").read_bytes())
    assert f"LEMBAR KENDALI TIKET {ticket.number}" in text
    assert "Bagian Pengadaan Barang/Jasa Sekretariat Daerah Kota Magelang" in text
    assert "Budi Santoso" in text and "19850312 201001 1 004" in text  # the NIP as written
    assert "Pemeriksaan kelengkapan berkas" in text and ADMIN.name in text
    assert "MELEBIHI BAKU" in text
    assert LATE_REASON in text and f"dicatat oleh {ADMIN.name}" in text
    assert "Alasan penolakan (langkah 5/7): NIP tidak cocok" in text
    assert "Pengarsipan berkas Sistem" in text  # step 9, written before its record
    assert "WIB" in text
    for doc in archived.documents:
        assert doc.sha256 in text.replace(" ", "")


async def test_the_zip_holds_the_sheet_the_manifest_and_the_original_documents(
    tickets: TicketService,
    files: DocumentStore,
    sessions: async_sessionmaker[AsyncSession],
    archiver: Archiver,
    settings: Settings,
) -> None:
    ticket = await rejected_with_a_late_step(tickets, files, sessions)
    archived = await archiver.archive(ticket.id)
    folder = settings.storage_dir / str(archived.archive_path)

    bundle = await archiver.bundle(str(ticket.number))
    assert bundle is not None and bundle.name == f"{ticket.number}.zip"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        contents = {name: archive.read(name) for name in names}
    manifest = json.loads(contents["manifest.json"])
    documents = {d["file"]: d for d in manifest["documents"]}
    assert set(names) == {"lembar-kendali.pdf", "manifest.json", *documents}
    assert len(documents) == 3
    for name in documents:
        assert name.startswith("documents/")
        assert contents[name] == (folder / name).read_bytes()  # byte-identical
    by_hash = {doc.sha256: doc for doc in archived.documents}
    for entry in documents.values():
        original = files.absolute(by_hash[entry["sha256"]].stored_path).read_bytes()
        assert contents[entry["file"]] == original
    assert contents["lembar-kendali.pdf"] == (folder / "lembar-kendali.pdf").read_bytes()
    assert [s["step"] for s in manifest["steps"]] == [1, 2, 5, 7, 9]
    assert manifest["steps"][1]["late_reason"] == LATE_REASON
    # Asked again: the same file, not rebuilt.
    assert await archiver.bundle(str(ticket.number)) == bundle


async def test_an_archive_from_before_the_sheet_gets_its_pdf_and_zip_on_demand(
    tickets: TicketService,
    files: DocumentStore,
    sessions: async_sessionmaker[AsyncSession],
    archiver: Archiver,
    settings: Settings,
) -> None:
    ticket = await rejected_with_a_late_step(tickets, files, sessions)
    archived = await archiver.archive(ticket.id)
    folder = settings.storage_dir / str(archived.archive_path)
    assert await archiver.bundle(str(ticket.number)) is not None
    (folder / "lembar-kendali.pdf").unlink()  # as written before this change
    (folder / f"{ticket.number}.zip").unlink()

    bundle = await archiver.bundle(str(ticket.number))

    assert bundle is not None
    with zipfile.ZipFile(bundle) as archive:
        text = pdf_text(archive.read("lembar-kendali.pdf"))
    assert f"LEMBAR KENDALI TIKET {ticket.number}" in text
    assert LATE_REASON in text
    # Step 9 now has its record: the sheet shows it as recorded, not as "being written".
    assert control_sheet.ARCHIVE_NOTE not in text
    assert str(archived.archive_path) in text.replace(" ", "")


async def test_no_bundle_for_an_unknown_or_unarchived_ticket(
    tickets: TicketService, files: DocumentStore, archiver: Archiver
) -> None:
    ticket = await submitted_ticket(tickets, files)
    assert await archiver.bundle(str(ticket.number)) is None
    assert await archiver.bundle("2101-9999") is None


@pytest.mark.parametrize("dejavu", [True, False])
async def test_names_in_any_script_never_break_the_sheet(
    tickets: TicketService,
    files: DocumentStore,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    dejavu: bool,
) -> None:
    if not dejavu:
        monkeypatch.setattr(control_sheet, "find_fonts", lambda *_: None)
    else:  # found on every install: matplotlib ships DejaVu
        assert control_sheet.find_fonts() is not None
    name = "Nguyễn Thị Łucja 李明 😀"
    ticket = await tickets.submit(
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER,
        identity=identity(name=name, work_unit="Dinas “Kominfo” — Statistik"),
        request_type=RequestType.BOTH,
        documents=documents(files),
    )
    ticket = await tickets.cancel(
        ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
    )
    archived = await Archiver(tickets, settings.storage_dir, settings.zone).archive(ticket.id)

    content = Path(settings.storage_dir) / str(archived.archive_path) / "lembar-kendali.pdf"
    text = pdf_text(content.read_bytes())
    assert "Reset password + informasi user ID" in text
    if dejavu:
        assert "Nguyễn Thị Łucja" in text and "“Kominfo” —" in text
    else:
        assert "Nguyen Thi ?ucja" in text and '"Kominfo" -' in text


async def test_two_workers_archiving_one_ticket_at_once_write_one_whole_archive(
    tickets: TicketService,
    files: DocumentStore,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    store: Store,
) -> None:
    """The housekeeping sweep runs on every worker and races the close itself: one writer
    at a time, the second finds it done, and no half-written folder is left behind."""
    ticket = await rejected_with_a_late_step(tickets, files, sessions)
    workers = [
        Archiver(tickets, settings.storage_dir, settings.zone, locks=store) for _ in range(2)
    ]

    done = await asyncio.gather(*(w.archive(ticket.id) for w in workers))

    assert {t.state for t in done} == {TicketState.ARCHIVED}
    final = await tickets.get(ticket.id)
    assert [s.step for s in final.steps].count(Step.ARCHIVE) == 1
    year_folder = (settings.storage_dir / str(final.archive_path)).parent
    assert [p.name for p in year_folder.iterdir()] == [final.number]
    assert await workers[1].bundle(str(final.number)) is not None
