"""Monthly SOP reports: figures of a seeded month computed by hand, and the files people get
(PDF, XLSX, CSV, PNG chart, the group's summary, the `chatbot report` command)."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.app import create_app
from chatbot.cli import main
from chatbot.db.models import AuditEvent, Requester, StepRecord, Ticket
from chatbot.reports import (
    MONTH_FORMAT_ERROR,
    Month,
    MonthReport,
    Signer,
    build_report_files,
    chart_png,
    month_report,
    parse_month,
    previous_month,
    summary_html,
    to_csv,
    to_pdf,
    to_xlsx,
)
from chatbot.reports.facts import Tally
from chatbot.reports.figures import nearest_rank
from chatbot.services.enums import Outcome, RequestType, Role, TicketState
from chatbot.settings import Settings

WIB = ZoneInfo("Asia/Jakarta")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TITLE = "Laporan Layanan Reset Password SPSE — November 2026"


def wib(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A wall-clock time in the office (WIB, UTC+7) as UTC-aware."""
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(UTC)


@dataclass
class Seed:
    number: str
    created: datetime
    request_type: RequestType
    role: Role
    unit: str
    state: TicketState
    outcome: Outcome | None
    # (step, office minutes or None = compute from the times, reason, reason by)
    steps: list[tuple[int, float | None, str | None, str | None]]
    incidents: int = 0


STANDARDS = {1: None, 2: 5, 3: 5, 4: None, 5: 10, 6: 5, 7: 5, 8: 10, 9: 5}
SEEDS = [
    # Submitted 1 Nov 00:10 WIB = 31 Oct 17:10 UTC: November in the office, October in UTC.
    Seed("2611-0001", wib(1, 0, 10), RequestType.RESET_PASSWORD, Role.PPK, "Dinas Pendidikan",
         TicketState.ARCHIVED, Outcome.COMPLETED,
         [(1, 0, None, None), (2, 3, None, None), (5, 8, None, None), (6, 4, None, None),
          (8, 15, "Pemohon belum membuka tautan", "Admin Sari"), (9, 1, None, None)]),
    Seed("2611-0002", wib(3, 9), RequestType.USER_ID, Role.PP, "  dinas   pendidikan ",
         TicketState.ARCHIVED, Outcome.REJECTED,
         [(2, 7, None, None), (5, 10, None, None), (7, 2, None, None), (9, 2, None, None)]),
    Seed("2611-0003", wib(9, 15), RequestType.BOTH, Role.POKJA, "Bagian Umum",
         TicketState.VALID, None,
         # step 5: no office_seconds; Mon 9 Nov 15:55 -> Tue 10 Nov 07:40 WIB is 5 minutes
         # before closing (16:00) + 10 minutes after opening (07:30) = 15 office minutes.
         [(2, 5, None, None), (5, None, "Menunggu konfirmasi telepon", "Admin Joko")]),
    Seed("2611-0004", wib(17, 10), RequestType.RESET_PASSWORD, Role.PPK, "Dinas Pendidikan",
         TicketState.ARCHIVED, Outcome.COMPLETED,
         [(2, 1, None, None), (5, 5, None, None), (6, 30, "Server SPSE gangguan", "Admin Sari"),
          (6, 2, None, None), (8, 5, None, None), (9, 3, None, None)], incidents=1),
    Seed("2611-0005", wib(30, 14), RequestType.RESET_PASSWORD, Role.PPK, "Bagian Umum",
         TicketState.ARCHIVED, Outcome.CANCELLED, [(2, 4, None, None)]),
    # Not November: 31 Oct 23:30 WIB, and 1 Dec 00:05 WIB (still 30 Nov in UTC).
    Seed("2610-0099", wib(31, 23, 30, month=10), RequestType.USER_ID, Role.PP, "Dinas Lain",
         TicketState.ARCHIVED, Outcome.COMPLETED, [(2, 100, None, None), (5, 90, None, None)],
         incidents=2),
    Seed("2612-0001", wib(1, 0, 5, month=12), RequestType.BOTH, Role.POKJA, "Dinas Lain",
         TicketState.SUBMITTED, None, [(2, 60, None, None)]),
]  # fmt: skip
INCIDENT_AT = wib(18, 9, 30)


async def seed_month(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The tickets above, their finished steps (plus an open one, which must not count)."""
    async with sessions.begin() as session:
        for index, seed in enumerate(SEEDS):
            identity = {
                "full_name": f"Pemohon {index}",
                "nip": f"19850312201001{index:04d}",
                "role": seed.role,
                "work_unit": seed.unit,
                "email": f"p{index}@magelangkota.go.id",
            }
            requester = Requester(
                channel="telegram", chat_id=str(1000 + index), platform_user_id=str(index),
                **identity,
            )  # fmt: skip
            ticket = Ticket(
                requester=requester, number=seed.number, request_type=seed.request_type,
                state=seed.state, outcome=seed.outcome, incidents=seed.incidents,
                created_at=seed.created, state_since=seed.created, **identity,
            )  # fmt: skip
            session.add(ticket)
            await session.flush()
            start = seed.created + timedelta(days=1)
            for step, office_minutes, reason, reason_by in seed.steps:
                if office_minutes is None:
                    started, finished, seconds = wib(9, 15, 55), wib(10, 7, 40), None
                else:
                    seconds = round(office_minutes * 60)
                    started, finished = start, start + timedelta(seconds=seconds)
                session.add(
                    StepRecord(
                        ticket_id=ticket.id, step=step, actor_name="Admin Sari",
                        started_at=started, finished_at=finished,
                        standard_minutes=STANDARDS[step], office_seconds=seconds,
                        outcome="selesai", late_reason=reason, late_reason_by=reason_by,
                    )
                )  # fmt: skip
                start = finished
            if seed.number == "2611-0003":  # step 6 still open: no figures from it
                session.add(StepRecord(ticket_id=ticket.id, step=6, started_at=wib(10, 8)))
            if seed.incidents:
                session.add(AuditEvent(ticket_id=ticket.id, action="incident", at=INCIDENT_AT))


@pytest.fixture
async def november(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> MonthReport:
    await seed_month(sessions)
    return await month_report(sessions, "2026-11", settings.zone, settings.sla_policy())


async def add_ticket(
    sessions: async_sessionmaker[AsyncSession],
    number: str,
    created: datetime,
    # (step, started, finished, standard minutes, office seconds)
    steps: list[tuple[int, datetime, datetime, int, int]],
) -> None:
    """One more November ticket, its steps given exactly (times, standard, office time)."""
    async with sessions.begin() as session:
        identity = {
            "full_name": f"Pemohon {number}",
            "nip": "198503122010011001",
            "role": Role.PPK,
            "work_unit": "Bagian Umum",
            "email": "p@magelangkota.go.id",
        }
        requester = Requester(
            channel="telegram", chat_id=number, platform_user_id=number, **identity
        )
        ticket = Ticket(
            requester=requester, number=number, request_type=RequestType.RESET_PASSWORD,
            state=TicketState.VALID, created_at=created, state_since=created, **identity,
        )  # fmt: skip
        session.add(ticket)
        await session.flush()
        for step, started, finished, standard, seconds in steps:
            session.add(
                StepRecord(
                    ticket_id=ticket.id, step=step, actor_name="Admin Joko", started_at=started,
                    finished_at=finished, standard_minutes=standard, office_seconds=seconds,
                    outcome="selesai",
                )
            )  # fmt: skip


def tallies(items: tuple[Tally, ...]) -> list[tuple[str, int]]:
    return [(t.label, t.count) for t in items]


# ---- figures ---------------------------------------------------------------------------------


async def test_counts_take_the_tickets_submitted_in_the_month_in_office_time(
    november: MonthReport,
) -> None:
    assert november.month == Month(2026, 11)
    assert november.tickets == 5  # 2611-0001..0005; 2610-0099 and 2612-0001 are out
    assert tallies(november.by_type) == [
        ("Reset password", 3),  # 0001, 0004, 0005
        ("Informasi user ID", 1),  # 0002
        ("Reset password + informasi user ID", 1),  # 0003
    ]
    assert tallies(november.by_role) == [
        ("PPK", 3),
        ("PP (Pejabat Pengadaan)", 1),
        ("Pokja Pemilihan", 1),
    ]
    # "  dinas   pendidikan " is the same unit as "Dinas Pendidikan" (the commoner spelling)
    assert tallies(november.by_unit) == [("Dinas Pendidikan", 3), ("Bagian Umum", 2)]
    assert [(t.key, t.label, t.count) for t in november.by_outcome] == [
        ("completed", "Selesai", 2),
        ("rejected", "Ditolak", 1),
        ("cancelled", "Dibatalkan pemohon", 1),
        ("expired", "Ditutup: kelengkapan tidak dikirim", 0),
        ("dalam_proses", "Dalam proses", 1),  # 0003, outcome not yet set
    ]


async def test_step_medians_p90_and_share_within_standard_match_the_hand_computation(
    november: MonthReport,
) -> None:
    figures = {
        s.step: (s.standard_minutes, s.finished, s.median_minutes, s.p90_minutes, s.within)
        for s in november.steps
    }
    assert figures == {
        # [1, 3, 4, 5, 7]: median 4; p90 rank ceil(0.9*5)=5 -> 7; within <=5: 1,3,4,5
        2: (5, 5, 4, 7, 4),
        3: (5, 0, None, None, 0),  # no records
        # [5, 8, 10, 15 (from the office clock)]: median (8+10)/2 = 9; rank ceil(3.6)=4 -> 15;
        # within <=10: 5, 8, 10 (exactly the standard counts as within)
        5: (10, 4, 9, 15, 3),
        # [2, 4, 30] (the open step 6 of 2611-0003 is left out): median 4; rank ceil(2.7)=3
        6: (5, 3, 4, 30, 2),
        7: (5, 1, 2, 2, 1),
        # [5, 15]: median (5+15)/2 = 10; rank ceil(1.8)=2 -> 15; within <=10: 5
        8: (10, 2, 10, 15, 1),
        # [1, 2, 3]: median 2; rank 3 -> 3
        9: (5, 3, 2, 3, 3),
    }
    shares = {s.step: s.share_within for s in november.steps}
    assert shares == {2: 0.8, 3: None, 5: 0.75, 6: 2 / 3, 7: 1.0, 8: 0.5, 9: 1.0}
    # 5 + 4 + 3 + 1 + 2 + 3 finished (step 1's N/A records do not count); 4+3+2+1+1+3 within
    assert (november.finished_steps, november.within_steps) == (18, 14)


async def test_deviations_list_every_late_step_with_its_reason_or_that_none_was_given(
    november: MonthReport,
) -> None:
    assert [
        (d.number, d.step, d.office_minutes, d.standard_minutes, d.reason, d.reason_by)
        for d in november.deviations
    ] == [
        ("2611-0001", 8, 15, 10, "Pemohon belum membuka tautan", "Admin Sari"),
        ("2611-0002", 2, 7, 5, "belum dijelaskan", None),
        ("2611-0003", 5, 15, 10, "Menunggu konfirmasi telepon", "Admin Joko"),
        ("2611-0004", 6, 30, 5, "Server SPSE gangguan", "Admin Sari"),
    ]
    assert [d.explained for d in november.deviations] == [True, False, True, True]


async def test_incidents_list_the_tickets_with_bukan_saya_and_when(
    november: MonthReport,
) -> None:
    assert [(i.number, i.count, i.work_unit, i.reported_at) for i in november.incidents] == [
        ("2611-0004", 1, "Dinas Pendidikan", INCIDENT_AT)
    ]  # 2610-0099's two incidents belong to October


async def test_an_outcome_the_report_does_not_know_is_counted_under_its_own_name(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await seed_month(sessions)
    async with sessions.begin() as session:
        await session.execute(
            text("UPDATE tickets SET outcome = 'dibekukan' WHERE number = '2611-0005'")
        )
    report = await month_report(sessions, "2026-11", settings.zone, settings.sla_policy())
    assert ("dibekukan", 1) in tallies(report.by_outcome)
    assert ("Dibatalkan pemohon", 0) in tallies(report.by_outcome)


async def test_an_empty_month_still_gives_every_file(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    report = await month_report(sessions, "2027-01", settings.zone, settings.sla_policy())
    assert report.tickets == 0
    assert all(s.finished == 0 and s.median_minutes is None for s in report.steps)
    summary = summary_html(report)
    assert "Permohonan: <b>0</b>" in summary and "Penyimpangan: <b>0</b>" in summary
    assert summary.count("belum ada data") == len(report.steps)
    pdf = " ".join(PdfReader(io.BytesIO(to_pdf(report))).pages[0].extract_text().split())
    assert "Januari 2027" in pdf
    assert chart_png(report).startswith(PNG_SIGNATURE)
    assert openpyxl.load_workbook(io.BytesIO(to_xlsx(report))).sheetnames
    assert to_csv(report).startswith(b"\xef\xbb\xbf")


async def test_work_done_outside_office_hours_is_counted_apart_with_its_wall_clock_time(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Checked on Wednesday 4 Nov at 19.30 (the office closed at 16.00): 40 minutes of work
    with no office time, which must not read as "0 minutes, within the standard"."""
    await seed_month(sessions)
    await add_ticket(
        sessions,
        "2611-0006",
        wib(4, 18, 50),
        [
            (2, wib(4, 18, 50), wib(4, 19, 30), 5, 0),
            # From the evening to Thursday 07.45: 15 office minutes, measured as usual.
            (5, wib(4, 19, 30), wib(5, 7, 45), 10, 15 * 60),
        ],
    )
    report = await month_report(sessions, "2026-11", settings.zone, settings.sla_policy())

    step_2 = next(s for s in report.steps if s.step == 2)
    # The seeded [1, 3, 4, 5, 7] as before; the evening check is not one more "within".
    assert (step_2.finished, step_2.within, step_2.outside) == (5, 4, 1)
    assert step_2.median_minutes == 4
    assert (report.finished_steps, report.within_steps, report.outside_steps) == (19, 14, 1)
    assert [(o.number, o.step, o.wall_minutes, o.actor) for o in report.outside] == [
        ("2611-0006", 2, 40, "Admin Joko")
    ]
    line = next(t for t in report.ticket_lines if t.number == "2611-0006")
    assert (line.steps, line.office_minutes, line.late, line.outside, line.outside_minutes) == (
        1,
        15,
        1,
        1,
        40,
    )

    summary = summary_html(report)
    assert "Langkah dalam standar: <b>14 dari 19</b> (74%)" in summary
    assert "Di luar jam kerja: <b>1 langkah (40 menit jam dinding)</b>" in summary
    assert "L2 Pemeriksaan kelengkapan: 4 / 7 (5); 80% dalam standar; 1 di luar jam kerja" in (
        summary
    )
    content = pdf_text(to_pdf(report))
    assert "Dikerjakan di luar jam kerja (waktu jam dinding)" in content
    assert (
        "2611-0006 2. Pemeriksaan kelengkapan Admin Joko 40 5 4 Nov 2026 pukul 19.30 WIB" in content
    )
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report)))
    assert list(book["Luar jam kerja"].iter_rows(min_row=2, values_only=True)) == [
        (
            "2611-0006",
            2,
            "Pemeriksaan kelengkapan",
            "Admin Joko",
            40,
            5,
            datetime(2026, 11, 4, 18, 50),
            datetime(2026, 11, 4, 19, 30),
        )
    ]
    facts = {
        (r["bagian"], r["kunci"], r["ukuran"]): r["nilai"]
        for r in csv.DictReader(io.StringIO(to_csv(report).decode("utf-8-sig")))
    }
    assert facts["langkah", "2", "luar_jam_kerja"] == "1"
    assert facts["luar_jam_kerja", "2611-0006/2", "menit_jam_dinding"] == "40"


async def test_each_step_shows_and_applies_every_standard_recorded_in_the_month(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """STEP_STANDARDS put step 5 at 15 minutes from 12 November (the setting is back at 10
    now): the records opened under 15 are judged by 15, the others by 10."""
    await seed_month(sessions)
    await add_ticket(
        sessions,
        "2611-0006",
        wib(12, 9),
        [(5, wib(12, 9), wib(12, 9, 12), 15, 12 * 60)],  # 12 of 15: within
    )
    await add_ticket(
        sessions,
        "2611-0007",
        wib(12, 10),
        [(5, wib(12, 10), wib(12, 10, 20), 15, 20 * 60)],  # 20 of 15: late
    )
    report = await month_report(sessions, "2026-11", settings.zone, settings.sla_policy())

    step_5 = next(s for s in report.steps if s.step == 5)
    assert step_5.standards == (10, 15)
    # [5, 8, 10, 15] under 10 (three within) + [12, 20] under 15 (one within)
    assert (step_5.finished, step_5.within) == (6, 4)
    assert [(d.number, d.office_minutes, d.standard_minutes) for d in report.deviations][-2:] == [
        ("2611-0004", 30, 5),
        ("2611-0007", 20, 15),
    ]
    assert "L5 Pemeriksaan keabsahan: 11 / 20 (10 / 15); 67% dalam standar" in summary_html(report)
    assert "5 Pemeriksaan keabsahan 10 / 15 6 11 20 4 (67%)" in pdf_text(to_pdf(report))
    steps = book_rows(to_xlsx(report), "Langkah")
    assert next(r for r in steps if r[0] == 5)[2] == "10 / 15"
    assert next(r for r in steps if r[0] == 2)[2] == 5  # one standard: a number
    facts = {
        (r["bagian"], r["kunci"], r["ukuran"]): r["nilai"]
        for r in csv.DictReader(io.StringIO(to_csv(report).decode("utf-8-sig")))
    }
    assert facts["langkah", "5", "standar_menit"] == "10 / 15"


def book_rows(data: bytes, sheet: str) -> list[tuple[object, ...]]:
    return list(
        openpyxl.load_workbook(io.BytesIO(data))[sheet].iter_rows(min_row=2, values_only=True)
    )


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026/11", "November", "", "26-11"])
def test_a_month_not_written_as_yyyy_mm_is_refused_with_a_message_for_the_user(
    bad: str,
) -> None:
    with pytest.raises(ValueError, match="YYYY-MM") as error:
        parse_month(bad)
    assert str(error.value) == MONTH_FORMAT_ERROR == "Bulan harus berformat YYYY-MM, mis. 2026-11."


def test_months_read_and_the_previous_month_is_taken_in_the_office_zone() -> None:
    assert parse_month(" 2026-3 ") == Month(2026, 3)
    assert parse_month("2026-11").label == "November 2026"
    # 31 Dec 2026 17:30 UTC is already 1 Jan 2027 in WIB: the previous month is December.
    assert previous_month(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), WIB) == Month(2026, 12)
    assert previous_month(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), WIB) == Month(2026, 11)
    assert previous_month(datetime(2027, 1, 15, tzinfo=UTC), WIB).key == "2026-12"


def test_the_90th_percentile_is_the_nearest_rank() -> None:
    assert nearest_rank(list(range(1, 11)), 90) == 9  # rank ceil(9.0) = 9
    assert nearest_rank([4, 1, 3, 2], 90) == 4  # rank ceil(3.6) = 4
    assert nearest_rank([7], 90) == 7
    assert nearest_rank([], 90) is None


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_at_least_90_percent_take_at_most_the_p90_and_it_really_occurred(
    values: list[int],
) -> None:
    p90 = nearest_rank(values, 90)
    assert p90 in values
    assert sum(v <= p90 for v in values) >= 0.9 * len(values)
    assert sum(v < p90 for v in values) < 0.9 * len(values)


# ---- files -----------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


async def test_the_pdf_opens_and_shows_title_deviations_reasons_and_incidents(
    november: MonthReport,
) -> None:
    data = to_pdf(november)
    reader = PdfReader(io.BytesIO(data))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    content = pdf_text(data)
    assert TITLE in content
    assert "Bagian Pengadaan Barang/Jasa Sekretariat Daerah Kota Magelang" in content
    assert "Periode: 1–30 November 2026" in content
    assert "2611-0002" in content
    assert "Server SPSE gangguan" in content
    assert "belum dijelaskan" in content
    assert f"Halaman 1 dari {len(reader.pages)}" in content
    assert sum(len(page.images) for page in reader.pages) >= 1  # the chart


async def test_the_pdf_prints_names_beyond_latin_1_with_or_without_a_unicode_font(
    november: MonthReport,
) -> None:
    deviation = november.deviations[0]
    odd = MonthReport(
        **{
            **november.__dict__,
            "deviations": (
                type(deviation)(**{**deviation.__dict__, "actor": "Admin Ṡāri", "reason": "Ŝ—x"}),
            ),
        }
    )
    assert "Admin Ṡāri" in pdf_text(to_pdf(odd))
    folded = pdf_text(to_pdf(odd, unicode_font=False))
    assert "Admin Sari" in folded
    assert "S-x" in folded
    assert "Laporan Layanan Reset Password SPSE - November 2026" in folded


async def test_the_xlsx_reads_back_with_numbers_as_numbers(november: MonthReport) -> None:
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(november)))
    assert book.sheetnames == [
        "Ringkasan",
        "Tiket",
        "Langkah",
        "Penyimpangan",
        "Luar jam kerja",
        "Insiden",
    ]
    summary = book["Ringkasan"]
    assert summary["A1"].value == TITLE
    rows = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert rows["Jumlah permohonan"] == 5
    assert rows["Langkah dalam standar (%)"] == pytest.approx(14 / 18)
    steps = book["Langkah"]
    assert next(steps.iter_rows(max_row=1, values_only=True))[:6] == (
        "Langkah",
        "Kegiatan",
        "Standar (menit)",
        "Selesai",
        "Median (menit)",
        "P90 (menit)",
    )
    step_5 = next(r for r in steps.iter_rows(min_row=2, values_only=True) if r[0] == 5)
    assert step_5 == (5, "Pemeriksaan keabsahan", 10, 4, 9, 15, 3, 0.75, 0)  # none outside hours
    deviations = list(book["Penyimpangan"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[4], r[6]) for r in deviations][3] == (
        "2611-0004",
        6,
        30,
        "Server SPSE gangguan",
    )
    # 2611-0001's steps ran back to back from 2 Nov 00:10 WIB: 0 + 3 + 8 + 4 + 15 minutes
    assert deviations[0][8] == datetime(2026, 11, 2, 0, 40)  # the wall clock in WIB
    incidents = list(book["Insiden"].iter_rows(min_row=2, values_only=True))
    assert incidents == [("2611-0004", 1, "Dinas Pendidikan", datetime(2026, 11, 18, 9, 30))]


async def test_the_pdf_and_xlsx_list_every_ticket_of_the_month(november: MonthReport) -> None:
    # Office minutes of the steps with a standard, added up by hand from SEEDS:
    # 0001: 3+8+4+15+1; 0002: 7+10+2+2; 0003: 5+15 (step 6 still open); 0004: 1+5+30+2+5+3.
    assert [
        (t.number, t.outcome, t.steps, t.office_minutes, t.late) for t in november.ticket_lines
    ] == [
        ("2611-0001", "Selesai", 5, 31, 1),
        ("2611-0002", "Ditolak", 4, 21, 1),
        ("2611-0003", "Dalam proses", 2, 20, 1),
        ("2611-0004", "Selesai", 6, 46, 1),
        ("2611-0005", "Dibatalkan pemohon", 1, 4, 0),
    ]
    rows = book_rows(to_xlsx(november), "Tiket")
    assert [r[:10] for r in rows] == [
        ("2611-0001", datetime(2026, 11, 1, 0, 10), "Reset password", "PPK",
         "Dinas Pendidikan", "Selesai", 5, 31, 1, 0),
        ("2611-0002", datetime(2026, 11, 3, 9, 0), "Informasi user ID",
         "PP (Pejabat Pengadaan)", "dinas pendidikan", "Ditolak", 4, 21, 1, 0),
        ("2611-0003", datetime(2026, 11, 9, 15, 0), "Reset password + informasi user ID",
         "Pokja Pemilihan", "Bagian Umum", "Dalam proses", 2, 20, 1, 0),
        ("2611-0004", datetime(2026, 11, 17, 10, 0), "Reset password", "PPK",
         "Dinas Pendidikan", "Selesai", 6, 46, 1, 0),
        ("2611-0005", datetime(2026, 11, 30, 14, 0), "Reset password", "PPK", "Bagian Umum",
         "Dibatalkan pemohon", 1, 4, 0, 0),
    ]  # fmt: skip
    assert rows[0][11] == "Admin Sari"
    content = pdf_text(to_pdf(november))
    listed = content[content.index("Daftar tiket") :]
    lines = listed.splitlines()
    for number, minutes in (("2611-0001", "31"), ("2611-0004", "46"), ("2611-0005", "4")):
        row = next(line for line in lines if number in line)
        assert f" {minutes} " in f" {row} "
    assert "Dibatalkan pemohon" in listed


async def test_the_pdf_ends_with_the_mengetahui_block_of_the_head_of_section(
    november: MonthReport,
) -> None:
    signer = Signer(
        "Kepala Bagian Pengadaan Barang/Jasa", "Drs. Bambang Wiyono", "196804121990031005"
    )
    signed = pdf_text(to_pdf(november, signer=signer))
    assert (
        "Magelang, ......................... Mengetahui, Kepala Bagian Pengadaan Barang/Jasa "
        "Drs. Bambang Wiyono NIP. 19680412 199003 1 005"
    ) in signed
    # Unset: dotted lines to fill in and sign by hand.
    blank = pdf_text(to_pdf(november))
    assert (
        "Mengetahui, ........................................ "
        "(........................................) NIP. .............................."
    ) in blank


async def test_the_csv_is_one_long_table_excel_and_scripts_can_read(
    november: MonthReport,
) -> None:
    data = to_csv(november)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == ["bulan", "bagian", "kunci", "label", "ukuran", "nilai"]
    assert {r["bulan"] for r in rows} == {"2026-11"}
    facts = {(r["bagian"], r["kunci"], r["ukuran"]): r["nilai"] for r in rows}
    assert facts["ringkasan", "tiket", "jumlah"] == "5"
    assert facts["unit_kerja", "dinas pendidikan", "jumlah"] == "3"
    assert facts["hasil", "dalam_proses", "jumlah"] == "1"
    assert facts["langkah", "5", "median_menit"] == "9"
    assert facts["langkah", "6", "persen_dalam_standar"] == "66.67"
    assert facts["langkah", "3", "median_menit"] == ""
    assert facts["penyimpangan", "2611-0002/2", "alasan"] == "belum dijelaskan"
    assert facts["penyimpangan", "2611-0003/5", "menit_kerja"] == "15"
    assert facts["insiden", "2611-0004", "dilaporkan_pada"] == "2026-11-18T09:30+07:00"


async def test_the_chart_is_a_png(november: MonthReport) -> None:
    png = chart_png(november)
    assert png.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 750)  # 8 x 5 inches at 150 dpi: sharp on a phone


async def test_build_report_files_gives_the_group_a_summary_a_chart_and_the_pdf(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    await seed_month(sessions)
    files = await build_report_files(
        sessions, "2026-11", settings.zone, settings.sla_policy(), tmp_path / "laporan"
    )
    assert files.chart == tmp_path / "laporan" / "laporan-2026-11.png"
    assert files.chart.read_bytes().startswith(PNG_SIGNATURE)
    assert TITLE in pdf_text(files.pdf.read_bytes())
    assert files.summary.splitlines()[:5] == [
        f"<b>{TITLE}</b>",
        "Permohonan: <b>5</b> (Selesai 2, Ditolak 1, Dibatalkan pemohon 1, Dalam proses 1)",
        "Langkah dalam standar: <b>14 dari 18</b> (78%)",
        "Penyimpangan: <b>4</b>, 1 belum dijelaskan",
        "Insiden “Bukan saya”: <b>1</b>",
    ]
    assert "L5 Pemeriksaan keabsahan: 9 / 15 (10); 75% dalam standar" in files.summary
    assert "L3 Permintaan melengkapi: belum ada data" in files.summary
    with pytest.raises(ValueError, match="YYYY-MM"):
        await build_report_files(
            sessions, "2026-13", settings.zone, settings.sla_policy(), tmp_path
        )


async def test_laporan_in_the_group_signs_with_the_configured_head_of_section(
    settings: Settings,
) -> None:
    signed = settings.model_copy(
        update={
            "report_signer_name": "Drs. Bambang Wiyono",
            "report_signer_nip": "196804121990031005",
        }
    )
    app = await create_app(signed)
    try:
        assert app.services.reports is not None
        files = await app.services.reports.files("2026-11")
        content = pdf_text(files.pdf.read_bytes())
        app.services.reports.discard(files.pdf.parent)
    finally:
        await app.close()
    assert "Mengetahui, ........................................ Drs. Bambang Wiyono" in content
    assert "NIP. 19680412 199003 1 005" in content


# ---- the command -----------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    """`chatbot` as an operator runs it: settings from the environment, in a work folder."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TIMEZONE", "Asia/Jakarta")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return folder


async def test_the_report_command_writes_each_format(
    sessions: async_sessionmaker[AsyncSession],
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed_month(sessions)
    # main() runs its own event loop, as from a shell: in a thread here.
    assert await asyncio.to_thread(main, ["report", "--month", "2026-11"]) == 0
    written = cli_env / "laporan-2026-11.pdf"
    assert TITLE in pdf_text(written.read_bytes())
    assert "laporan-2026-11.pdf" in capsys.readouterr().out

    out = cli_env / "keluar" / "nov.xlsx"
    out.parent.mkdir()
    argv = ["report", "--month", "2026-11", "--format", "xlsx", "--out", str(out)]
    assert await asyncio.to_thread(main, argv) == 0
    assert openpyxl.load_workbook(out)["Langkah"]["E4"].value == 9  # step 5's median

    assert await asyncio.to_thread(main, ["report", "--month", "2026-11", "--format", "csv"]) == 0
    assert (cli_env / "laporan-2026-11.csv").read_bytes().startswith(b"\xef\xbb\xbfbulan,")


async def test_the_report_command_signs_with_the_configured_head_of_section(
    sessions: async_sessionmaker[AsyncSession],
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed_month(sessions)
    monkeypatch.setenv("REPORT_SIGNER_TITLE", "Kepala Bagian Pengadaan Barang/Jasa")
    monkeypatch.setenv("REPORT_SIGNER_NAME", "Drs. Bambang Wiyono")
    monkeypatch.setenv("REPORT_SIGNER_NIP", "19680412 199003 1 005")
    assert await asyncio.to_thread(main, ["report", "--month", "2026-11"]) == 0
    content = pdf_text((cli_env / "laporan-2026-11.pdf").read_bytes())
    assert "Drs. Bambang Wiyono NIP. 19680412 199003 1 005" in content

    monkeypatch.setenv("REPORT_SIGNER_NIP", "1968-04-12")
    assert await asyncio.to_thread(main, ["report", "--month", "2026-11"]) == 2
    assert "REPORT_SIGNER_NIP: a NIP is 18 digits" in capsys.readouterr().err


def test_the_report_command_refuses_a_bad_month_and_defaults_to_last_month(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert main(["report", "--month", "2026-13"]) == 2
    assert MONTH_FORMAT_ERROR in capsys.readouterr().err
    assert not list(cli_env.iterdir())

    # A database never migrated (a wrong DATABASE_URL?) is refused, not created.
    assert main(["report", "--format", "csv"]) == 2
    assert "chatbot db upgrade" in capsys.readouterr().err
    assert not list(cli_env.iterdir())
    assert main(["db", "upgrade"]) == 0
    assert main(["report", "--format", "csv"]) == 0
    expected = previous_month(datetime.now(UTC), WIB).key
    assert [p.name for p in cli_env.iterdir()] == [f"laporan-{expected}.csv"]


async def test_typed_text_never_becomes_a_formula_in_the_spreadsheets(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """A work unit is typed by the requester: "=HYPERLINK(...)" must stay text (CSV/XLSX
    injection), while numbers stay numbers."""
    unit = '=HYPERLINK("http://evil.example","Klik")'
    async with sessions.begin() as session:
        identity = {
            "full_name": "Pemohon",
            "nip": "198503122010010001",
            "role": Role.PPK,
            "work_unit": unit,
            "email": "p@magelangkota.go.id",
        }
        requester = Requester(channel="telegram", chat_id="1", platform_user_id="1", **identity)
        session.add(
            Ticket(
                requester=requester,
                number="2611-0001",
                request_type=RequestType.RESET_PASSWORD,
                state=TicketState.SUBMITTED,
                created_at=wib(3, 9),
                state_since=wib(3, 9),
                **identity,
            )
        )
    report = await month_report(sessions, "2026-11", settings.zone, settings.sla_policy())

    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report)))
    cells = [c for s in book.worksheets for row in s.iter_rows() for c in row if c.value]
    typed = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert typed and all(c.data_type == "s" for c in typed)
    assert any(c.data_type == "n" for c in cells)
    rows = list(csv.reader(io.StringIO(to_csv(report).decode("utf-8-sig"))))
    labels = [row[3] for row in rows if row[1] == "unit_kerja"]
    assert labels == ["'" + unit]
