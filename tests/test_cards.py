"""What the admins and the archive read about a ticket tells the truth: how it ended, what each
step did and who did it (one name per person), the NIP written one way, times written one
way, and minutes rounded one way on the card, /antrian, the lembar kendali and the report."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations import cards, lookup, queue
from chatbot.conversations import texts as t
from chatbot.db.models import CredentialLink, StepRecord, Ticket
from chatbot.reports.labels import minutes as report_minutes
from chatbot.services import control_sheet
from chatbot.services.archive import Archiver
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import DocumentKind, MissingItem, RequestType, Step, TicketState
from chatbot.services.tickets import Actor, IllegalMove, Move, NewDocument, TicketService
from chatbot.settings import Settings
from tests.factories import (
    ADMIN,
    NIP,
    REQUESTER,
    identity,
    pdf_bytes,
    submitted_ticket,
)
from tests.test_archive_records import pdf_text

WIB = ZoneInfo("Asia/Jakarta")
WRITTEN_NIP = "19850312 201001 1 004"
LINK_HASH = "a" * 64
LINK_EXPIRES = datetime(2026, 12, 31, tzinfo=UTC)
# The requester's Telegram name is not the name in their SK; the admin's changes midway.
REQUESTER_ON_TELEGRAM = Actor(REQUESTER.id, "budi_ppk")
ADMIN_BEFORE = Actor(ADMIN.id, "sari_admin")
ADMIN_AFTER = Actor(ADMIN.id, "Sari Wulandari")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB).astimezone(UTC)  # type: ignore[misc]


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(2026, 12, 3, 9, 0))  # a Thursday, in office hours


@pytest.fixture
def tickets(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> TicketService:
    return TicketService(sessions, settings.zone, clock, policy=settings.sla_policy())


@pytest.fixture
def archiver(tickets: TicketService, settings: Settings) -> Archiver:
    return Archiver(tickets, settings.storage_dir, settings.zone)


def heading(ticket: Ticket) -> str:
    return cards.render(ticket, WIB).text.splitlines()[1]


def history(ticket: Ticket) -> list[str]:
    text = t.plain(cards.render(ticket, WIB).text)
    return text.split("Riwayat", 1)[1].splitlines()[1:]


async def delivered(
    tickets: TicketService, ticket: Ticket, admin: Actor = ADMIN, link_hash: str = LINK_HASH
) -> Ticket:
    """From Valid to the link sent (steps 6 and 8)."""
    ticket = await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=admin)
    return await tickets.deliver_result(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=admin,
        link_hash=link_hash,
        expires_at=LINK_EXPIRES,
    )


async def completed(tickets: TicketService, files: DocumentStore) -> Ticket:
    """Reset password + user ID, through to the requester's login confirmation."""
    ticket = await submitted_ticket(tickets, files, RequestType.BOTH)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await delivered(tickets, ticket)
    assert await tickets.mark_received(link_hash=LINK_HASH) is not None
    return await tickets.confirm_login(
        ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
    )


async def ended(tickets: TicketService, files: DocumentStore, how: str) -> Ticket:
    if how == "completed":
        return await completed(tickets, files)
    ticket = await submitted_ticket(tickets, files)
    if how == "rejected":
        ticket = await tickets.mark_complete(
            ticket_id=ticket.id, version=ticket.version, actor=ADMIN
        )
        return await tickets.reject(
            ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason="SK tidak berlaku"
        )
    if how == "cancelled":
        return await tickets.cancel(
            ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
        )
    await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.SK],
        note=None,
    )
    (expired,) = await tickets.expire_supplements(after=timedelta(0))
    return expired


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("completed", "🗄️ Selesai, diarsipkan"),
        ("rejected", "🗄️ Ditolak, diarsipkan"),
        ("cancelled", "🗄️ Dibatalkan pemohon, diarsipkan"),
        ("expired", "🗄️ Kedaluwarsa: kelengkapan tidak dikirim, diarsipkan"),
    ],
)
async def test_an_archived_tickets_card_and_cari_line_say_how_it_ended(
    tickets: TicketService, files: DocumentStore, archiver: Archiver, how: str, said: str
) -> None:
    ticket = await archiver.archive((await ended(tickets, files, how)).id)
    assert ticket.state == TicketState.ARCHIVED

    assert heading(ticket).startswith(f"<b>{said}")
    assert said in lookup.search_line(ticket, WIB)
    # A late tap on an old button names the outcome too.
    assert said in t.stale(str(ticket.number), ticket.state, "Sistem", ticket.outcome)
    if how != "completed":
        assert "Selesai" not in heading(ticket)
        assert "Selesai" not in lookup.search_line(ticket, WIB)


async def test_the_history_says_what_each_step_did_once_and_who_did_it(
    tickets: TicketService, files: DocumentStore, archiver: Archiver
) -> None:
    ticket = await archiver.archive((await completed(tickets, files)).id)

    assert history(ticket) == [
        "• 09.00 Diajukan — Budi Santoso",
        "• 09.00 Cek kelengkapan: lengkap — Admin Sari",
        "• 09.00 Cek keabsahan: valid — Admin Sari",
        "• 09.00 Password baru dan user ID dikirim lewat link — Admin Sari",
        "• 09.00 Hasil dibuka pemohon — Budi Santoso",  # the requester's doing, not the admin's
        "• 09.00 Diarsipkan — Sistem",
    ]


async def test_a_cancelled_or_expired_step_is_not_put_on_the_admin(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await submitted_ticket(tickets, files)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    cancelled = await tickets.cancel(
        ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER_ON_TELEGRAM
    )
    assert history(cancelled)[-1] == "• 09.00 Reset/cek di SPSE: dibatalkan pemohon — Budi Santoso"

    other = await ended(tickets, files, "expired")
    assert history(other)[-1] == "• 09.00 Kelengkapan tidak dikirim sampai batas waktu — Sistem"


async def test_each_person_has_one_name_on_the_card_and_the_control_sheet(
    tickets: TicketService, files: DocumentStore, archiver: Archiver, settings: Settings
) -> None:
    ticket = await submitted_ticket(tickets, files)
    ticket = await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN_BEFORE,
        missing=[MissingItem.LETTER],
        note=None,
    )
    ticket = await tickets.supplement(
        ticket_id=ticket.id,
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER_ON_TELEGRAM,
        documents=[NewDocument(DocumentKind.LETTER, files.keep(pdf_bytes("Surat baru")))],
        identity=None,
    )
    ticket = await tickets.mark_complete(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN_AFTER
    )
    ticket = await tickets.confirm_by_phone(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN_BEFORE
    )
    ticket = await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN_AFTER, reason="NIP tidak cocok"
    )

    card = t.plain(cards.render(ticket, WIB).text)
    assert "Kelengkapan dikirim pemohon — Budi Santoso" in card
    assert "Cek kelengkapan: tidak lengkap — Sari Wulandari" in card
    assert "Dikonfirmasi telepon oleh Sari Wulandari" in card
    assert "sari_admin" not in card and "budi_ppk" not in card

    archived = await archiver.archive(ticket.id)
    folder = settings.storage_dir / str(archived.archive_path)
    sheet = pdf_text((folder / control_sheet.FILE_NAME).read_bytes())
    assert "Sari Wulandari" in sheet and "Budi Santoso" in sheet
    assert "sari_admin" not in sheet and "budi_ppk" not in sheet


async def test_times_on_another_day_carry_their_date_and_sentences_say_date_then_pukul(
    tickets: TicketService, files: DocumentStore, clock: Clock
) -> None:
    clock.now = wib(2026, 12, 3, 15, 58)
    ticket = await submitted_ticket(tickets, files)
    clock.now = wib(2026, 12, 4, 7, 31)  # 3 office minutes later
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)

    text = t.plain(cards.render(ticket, WIB).text)
    assert "Riwayat (diajukan 3 Des 2026)" in text
    assert history(ticket) == [
        "• 15.58 Diajukan — Budi Santoso",
        "• 4 Des 07.31 Cek kelengkapan: lengkap — Admin Sari",
    ]
    assert "⏳ Batas langkah 5: 4 Des 2026 pukul 07.41 WIB" in text
    opened = t.clock(wib(2026, 12, 3, 19, 30), WIB)
    assert "dibuka 3 Des 2026 pukul 19.30 WIB" in t.received_receipt("2612-0001", opened, True)


async def test_the_nip_is_written_one_way_wherever_it_is_shown_in_full(
    tickets: TicketService, files: DocumentStore, archiver: Archiver, settings: Settings
) -> None:
    ticket = await ended(tickets, files, "rejected")
    assert f"NIP: <code>{WRITTEN_NIP}</code>" in cards.render(ticket, WIB).text
    archived = await archiver.archive(ticket.id)
    folder = settings.storage_dir / str(archived.archive_path)
    assert f"NIP {WRITTEN_NIP}" in pdf_text((folder / control_sheet.FILE_NAME).read_bytes())
    data = {
        "type": "reset_password",
        "role": "ppk",
        "name": "Budi Santoso",
        "nip": NIP,
        "unit": "Dinas Pekerjaan Umum",
        "email": "budi@magelangkota.go.id",
    }
    assert f"NIP: <code>{WRITTEN_NIP}</code>" in t.summary(data, {"letter": 1, "sk": 1})
    assert f"/cari {WRITTEN_NIP}" in t.SEARCH_USAGE


async def test_the_control_sheet_names_every_outcome_note_and_action_in_words(
    tickets: TicketService, files: DocumentStore, archiver: Archiver, settings: Settings
) -> None:
    """Steps 2-4 with missing items, an expired link re-issued, then received and confirmed."""
    ticket = await submitted_ticket(tickets, files, RequestType.BOTH)
    ticket = await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.LETTER, MissingItem.IDENTITY],
        note="Surat belum ditandatangani",
    )
    ticket = await tickets.supplement(
        ticket_id=ticket.id,
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER,
        documents=[NewDocument(DocumentKind.LETTER, files.keep(pdf_bytes("Surat baru")))],
        identity=identity(work_unit="Dinas Kesehatan"),
    )
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await delivered(tickets, ticket, link_hash="b" * 64)
    async with tickets.sessions.begin() as session:  # the link runs out unopened
        await session.execute(update(CredentialLink).values(expires_at=wib(2026, 12, 3, 8, 0)))
    (ticket,) = await tickets.expire_links()
    ticket = await delivered(tickets, ticket)
    assert await tickets.mark_received(link_hash=LINK_HASH) is not None
    ticket = await tickets.confirm_login(
        ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
    )
    archived = await archiver.archive(ticket.id)
    folder = settings.storage_dir / str(archived.archive_path)
    sheet = pdf_text((folder / control_sheet.FILE_NAME).read_bytes())

    assert "tidak lengkap data identitas, surat permohonan" in sheet  # step 2: result, note
    assert "dilengkapi data identitas, surat permohonan" in sheet  # step 4
    assert "link kedaluwarsa tanpa dibuka" in sheet
    assert "kirim ulang: link kedaluwarsa tanpa dibuka" in sheet  # step 6's note
    assert "password baru dibuat dan user ID ditemukan" in sheet
    assert "0 / -" in sheet  # step 1 has no standard
    assert "mengajukan permohonan" in sheet and "link kedaluwarsa" in sheet
    for code in (
        "N/A",
        "submitted",
        "(complete)",
        "link_expired",
        "link_kedaluwarsa",
        "tidak_lengkap",
        "identity, letter",
        "password direset",
        "_",
    ):
        assert code not in sheet, code


async def test_a_lost_link_is_named_in_words_on_the_card_and_the_control_sheet(
    tickets: TicketService, files: DocumentStore, archiver: Archiver, settings: Settings
) -> None:
    ticket = await submitted_ticket(tickets, files)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    await delivered(tickets, ticket)
    lost = await tickets.link_lost(LINK_HASH)
    assert lost is not None and lost.state == TicketState.VALID

    assert any(
        "Link hilang dari penyimpanan sebelum dibuka — Sistem" in line for line in history(lost)
    )
    cancelled = await tickets.cancel(
        ticket_id=lost.id, channel="telegram", chat_id="1001", actor=REQUESTER
    )
    archived = await archiver.archive(cancelled.id)
    folder = settings.storage_dir / str(archived.archive_path)
    sheet = pdf_text((folder / control_sheet.FILE_NAME).read_bytes())
    assert "kirim ulang: link hilang dari penyimpanan sebelum dibuka" in sheet
    assert "link_hilang" not in sheet


async def test_a_refused_move_names_the_tickets_state_in_words(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await ended(tickets, files, "expired")
    with pytest.raises(IllegalMove) as refused:  # the requester supplements too late
        await tickets.supplement(
            ticket_id=ticket.id,
            channel="telegram",
            chat_id="1001",
            actor=REQUESTER,
            documents=[NewDocument(DocumentKind.SK, files.keep(pdf_bytes("SK")))],
            identity=None,
        )
    assert t.ticket_error(refused.value) == (
        f"Tiket {ticket.number} tidak dapat diproses: sudah ditutup karena kelengkapan tidak "
        "dikirim."
    )


def _audited_actions() -> set[str]:
    """Every audit action code the code base writes (the Move values are audited too)."""
    found = {move.value for move in Move}
    for path in Path("chatbot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("_audit", "_audit_ticket"):
                found |= {
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant)
                    and isinstance(a.value, str)
                    and re.fullmatch(r"[a-z]+(_[a-z]+)*", a.value)
                }
            if name == "AuditEvent":
                found |= {
                    k.value.value
                    for k in node.keywords
                    if k.arg == "action"
                    and isinstance(k.value, ast.Constant)
                    and isinstance(k.value.value, str)
                }
    return found


def test_every_audited_action_has_words_on_the_control_sheet() -> None:
    actions = _audited_actions()
    assert {"submitted", "link_created", "searched", "complete"} <= actions  # the scan works
    assert sorted(actions - set(control_sheet.ACTIONS)) == []


async def test_minutes_are_rounded_up_alike_on_the_card_the_sheet_antrian_and_the_report(
    tickets: TicketService,
    files: DocumentStore,
    archiver: Archiver,
    settings: Settings,
    clock: Clock,
) -> None:
    # Step 2 took 5 minutes 20 seconds of office time against its 5: late, and shown as 6.
    ticket = await submitted_ticket(tickets, files)
    waiting = await tickets.get(ticket.id)
    due = waiting.open_step
    assert due is not None and due.due_at is not None
    at = due.due_at - timedelta(minutes=4, seconds=30)
    assert queue.time_left(due, tickets.policy, at) == "sisa 5 menit"
    assert t.duration(timedelta(minutes=4, seconds=30)) == "5 menit"

    clock.now = ticket.created_at + timedelta(minutes=5, seconds=20)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    async with tickets.sessions.begin() as session:
        await session.execute(
            update(StepRecord)
            .where(StepRecord.ticket_id == ticket.id, StepRecord.step == Step.CHECK_COMPLETENESS)
            .values(late_reason="Antrean", late_reason_by=ADMIN.name)
        )
    ticket = await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason="SK tidak berlaku"
    )
    assert "⏱ 6/5 mnt" in cards.render(ticket, WIB).text
    archived = await archiver.archive(ticket.id)
    folder = settings.storage_dir / str(archived.archive_path)
    sheet = pdf_text((folder / control_sheet.FILE_NAME).read_bytes())
    assert "6 / 5 MELEBIHI BAKU" in sheet
    assert "6 menit kerja, baku 5 menit" in sheet
    assert report_minutes(320 / 60) == "6"
