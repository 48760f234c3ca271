"""The ticket state machine follows the SOP, refuses illegal and stale moves, records steps."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations.texts import ticket_error
from chatbot.db.models import AuditEvent, OutboxMessage, Ticket
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import MissingItem, Outcome, RequestType, Step, TicketState
from chatbot.services.tickets import IllegalMove, NotYours, StaleMove, TicketService
from tests.factories import ADMIN, ADMIN_2, REQUESTER, documents, submitted_ticket


async def _delivered(
    tickets: TicketService,
    files: DocumentStore,
    link: str = "cd" * 32,
    request_type: RequestType = RequestType.RESET_PASSWORD,
) -> int:
    """A ticket taken through steps 1-6 whose link (already expired) went to the requester."""
    ticket = await submitted_ticket(tickets, files, request_type)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.deliver_result(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        link_hash=link,
        expires_at=ticket.created_at,  # already past: the sweep may expire it
    )
    return ticket.id


async def _actions(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(
            select(AuditEvent.action).where(AuditEvent.ticket_id == ticket_id)
        )
        return list(rows.scalars())


async def test_submit_records_step_one_and_opens_the_completeness_check(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await submitted_ticket(tickets, files)

    assert ticket.state == TicketState.SUBMITTED
    assert ticket.number is not None
    assert ticket.number.endswith(f"-{ticket.id:04d}")
    assert [(s.step, s.outcome, s.finished_at is not None) for s in ticket.steps] == [
        (Step.SUBMIT, "diajukan", True),
        (Step.CHECK_COMPLETENESS, None, False),
    ]
    assert ticket.steps[1].standard_minutes == 5
    assert [(d.kind, d.page) for d in ticket.documents] == [("letter", 1), ("sk", 1), ("sk", 2)]


async def test_full_happy_path_reaches_the_confirmation_with_every_step_recorded(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await tickets.get(await _delivered(tickets, files, "ab" * 32, RequestType.BOTH))
    assert ticket.state == TicketState.DELIVERED
    ticket = await tickets.mark_received(link_hash="ab" * 32)
    assert ticket is not None
    assert ticket.state == TicketState.RECEIVED
    assert ticket.outcome is None  # not closed until the requester confirms the login
    steps = [(s.step, s.outcome, s.actor_name) for s in ticket.steps]
    assert steps == [
        (Step.SUBMIT, "diajukan", "Budi Santoso"),
        (Step.CHECK_COMPLETENESS, "lengkap", "Admin Sari"),
        (Step.CHECK_VALIDITY, "valid", "Admin Sari"),
        (Step.RESET_IN_SPSE, "password_direset_dan_user_id", "Admin Sari"),
        (Step.DELIVER_RESULT, "diterima_pemohon", "Admin Sari"),
    ]
    assert all(s.finished_at is not None for s in ticket.steps)
    assert await tickets.mark_received(link_hash="ab" * 32) is None
    ticket = await tickets.confirm_login(
        ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
    )
    assert ticket.outcome == Outcome.COMPLETED
    assert ticket.confirmed_at is not None


async def test_incomplete_then_supplemented_returns_to_the_completeness_check(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await submitted_ticket(tickets, files)
    ticket = await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.SK],
        note="SK belum ditandatangani",
    )
    assert ticket.state == TicketState.INCOMPLETE
    assert ticket.missing == ["sk"]

    with pytest.raises(NotYours):
        await tickets.supplement(
            ticket_id=ticket.id,
            channel="telegram",
            chat_id="666",
            actor=REQUESTER,
            documents=documents(files)[1:],
            identity=None,
        )
    ticket = await tickets.supplement(
        ticket_id=ticket.id,
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER,
        documents=documents(files)[1:],
        identity=None,
    )
    assert ticket.state == TicketState.SUPPLEMENTED
    assert ticket.round == 2
    assert [s.step for s in ticket.steps] == [
        Step.SUBMIT,
        Step.CHECK_COMPLETENESS,
        Step.ASK_TO_COMPLETE,
        Step.SUPPLEMENT,
        Step.CHECK_COMPLETENESS,
    ]
    assert {d.round for d in ticket.documents} == {1, 2}
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    assert ticket.state == TicketState.COMPLETE


async def test_invalid_rejects_with_reason_and_records_step_seven(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await submitted_ticket(tickets, files)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason="NIP tidak cocok"
    )
    assert ticket.state == TicketState.REJECTED
    assert ticket.outcome == Outcome.REJECTED
    assert ticket.steps[-1].step == Step.NOTIFY_REJECTION
    assert ticket.steps[-1].note == "NIP tidak cocok"


async def test_out_of_order_moves_are_refused_and_change_nothing(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await submitted_ticket(tickets, files)
    with pytest.raises(IllegalMove):
        await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    with pytest.raises(IllegalMove):
        await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    after = await tickets.get(ticket.id)
    assert (after.state, after.version) == (TicketState.SUBMITTED, ticket.version)


async def test_a_stale_button_is_refused_and_names_who_decided(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket = await submitted_ticket(tickets, files)
    await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    with pytest.raises(StaleMove) as refused:
        await tickets.mark_incomplete(
            ticket_id=ticket.id,
            version=ticket.version,
            actor=ADMIN_2,
            missing=[MissingItem.LETTER],
            note=None,
        )
    assert refused.value.ticket is not None
    assert refused.value.ticket.last_actor_name == "Admin Sari"
    assert refused.value.ticket.state == TicketState.COMPLETE


async def test_two_admins_at_the_same_moment_yield_exactly_one_decision(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await submitted_ticket(tickets, files)
    results = await asyncio.gather(
        tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN),
        tickets.mark_incomplete(
            ticket_id=ticket.id,
            version=ticket.version,
            actor=ADMIN_2,
            missing=[MissingItem.SK],
            note=None,
        ),
        return_exceptions=True,
    )
    decided = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, StaleMove)]
    assert len(decided) == 1
    assert len(refused) == 1
    async with sessions() as session:
        moves = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.ticket_id == ticket.id, AuditEvent.action != "submitted")
        )
    assert moves == 1


async def test_requester_may_cancel_while_waiting_but_not_after_the_end(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await submitted_ticket(tickets, files)
    cancelled = await tickets.cancel(
        ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
    )
    assert cancelled.state == TicketState.CANCELLED
    assert all(s.finished_at is not None for s in cancelled.steps)
    with pytest.raises(IllegalMove):
        await tickets.cancel(
            ticket_id=ticket.id, channel="telegram", chat_id="1001", actor=REQUESTER
        )
    async with sessions() as session:
        kinds = (
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.ticket_id == ticket.id)
            )
        ).all()
    assert kinds == ["new_ticket", "card"]


async def test_each_ticket_keeps_the_identity_it_was_submitted_with(
    tickets: TicketService, files: DocumentStore
) -> None:
    from tests.factories import identity

    first = await submitted_ticket(tickets, files)
    second = await tickets.submit(
        channel="telegram",
        chat_id="1001",  # the same office account asks for a colleague
        actor=REQUESTER,
        identity=identity(name="Sari Wulandari", nip="199001012015032002"),
        request_type=RequestType.USER_ID,
        documents=documents(files),
    )
    first = await tickets.get(first.id)
    assert (first.full_name, first.nip) == ("Budi Santoso", "198503122010011004")
    assert (second.full_name, second.nip) == ("Sari Wulandari", "199001012015032002")
    assert first.requester_id == second.requester_id


async def test_a_ticket_bounced_many_times_keeps_its_card_within_telegram_limits(
    tickets: TicketService, files: DocumentStore
) -> None:
    from chatbot.conversations.cards import render
    from tests.factories import identity

    ticket = await submitted_ticket(tickets, files)
    long_note = "Mohon lengkapi tanda tangan dan stempel pada halaman terakhir. " * 7
    for _ in range(30):
        ticket = await tickets.mark_incomplete(
            ticket_id=ticket.id,
            version=ticket.version,
            actor=ADMIN,
            missing=[MissingItem.SK, MissingItem.IDENTITY],
            note=long_note[:500],
        )
        ticket = await tickets.supplement(
            ticket_id=ticket.id,
            channel="telegram",
            chat_id="1001",
            actor=REQUESTER,
            documents=documents(files)[1:],
            identity=identity(name="N" * 200, work_unit="U" * 200, email="e@x.go.id"),
        )
    card = render(ticket, ZoneInfo("Asia/Jakarta"))
    assert len(card.text) < 4096
    assert "langkah sebelumnya" in card.text


async def test_a_reveal_that_lost_the_race_to_the_expiry_sweep_is_still_on_record(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket_id = await _delivered(tickets, files)
    assert [t.id for t in await tickets.expire_links()] == [ticket_id]

    assert await tickets.mark_received(link_hash="cd" * 32) is None

    link = await tickets.link_status("cd" * 32)
    assert link is not None and link.opened_at is not None  # the secret did leave
    assert {"link_revealed", "link_revealed_late"} <= set(await _actions(sessions, ticket_id))
    assert (await tickets.get(ticket_id)).state == TicketState.VALID  # re-issue still needed


async def test_the_sweep_leaves_a_link_that_was_revealed_first(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket_id = await _delivered(tickets, files)
    assert await tickets.mark_received(link_hash="cd" * 32) is not None

    assert await tickets.expire_links() == []
    assert (await tickets.get(ticket_id)).state == TicketState.RECEIVED


async def test_an_incident_cannot_be_cancelled_away_nor_reported_on_a_closed_ticket(
    tickets: TicketService, files: DocumentStore
) -> None:
    ticket_id = await _delivered(tickets, files)
    await tickets.mark_received(link_hash="cd" * 32)
    await tickets.report_incident(
        ticket_id=ticket_id, channel="telegram", chat_id="1001", actor=REQUESTER
    )
    with pytest.raises(IllegalMove) as refused:
        await tickets.cancel(
            ticket_id=ticket_id, channel="telegram", chat_id="1001", actor=REQUESTER
        )
    assert "insiden" in ticket_error(refused.value)

    other = await _delivered(tickets, files, link="ef" * 32)
    await tickets.mark_received(link_hash="ef" * 32)
    from datetime import timedelta

    assert [t.id for t in await tickets.close_unconfirmed(after=timedelta(0))] == [other]
    with pytest.raises(IllegalMove) as closed:
        await tickets.report_incident(
            ticket_id=other, channel="telegram", chat_id="1001", actor=REQUESTER
        )
    assert "sudah ditutup" in ticket_error(closed.value)


async def test_a_submission_retried_after_a_crash_makes_one_ticket(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import identity

    made = [
        await tickets.submit(
            channel="telegram",
            chat_id="1001",
            actor=REQUESTER,
            identity=identity(),
            request_type=RequestType.RESET_PASSWORD,
            documents=documents(files),
            update_key="telegram:100000042",  # the same update, handled again
        )
        for _ in range(2)
    ]
    assert made[0].id == made[1].id
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Ticket))
        cards = await session.scalar(select(func.count()).where(OutboxMessage.kind == "new_ticket"))
    assert (count, cards) == (1, 1)  # one ticket, announced once


async def test_a_second_open_ticket_of_a_nip_is_accepted_and_both_know_of_each_other(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import identity

    first = await submitted_ticket(tickets, files)
    other_nip = await tickets.submit(
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER,
        identity=identity(nip="199001012015032002"),
        request_type=RequestType.USER_ID,
        documents=documents(files),
    )
    second = await submitted_ticket(tickets, files, chat_id="2002")  # not refused

    assert second.state == TicketState.SUBMITTED
    assert second.same_nip_open == [first.number]
    first = await tickets.get(first.id)
    assert first.same_nip_open == [second.number]
    assert (await tickets.get(other_nip.id)).same_nip_open == []
    async with sessions() as session:
        cards = await session.scalars(
            select(OutboxMessage.ticket_id).where(OutboxMessage.kind == "card")
        )
        assert list(cards) == [first.id]  # the first card is refreshed to show it

    # An ended ticket is no longer an open one.
    await tickets.cancel(ticket_id=first.id, channel="telegram", chat_id="1001", actor=REQUESTER)
    third = await submitted_ticket(tickets, files)
    assert third.same_nip_open == [second.number]


async def test_a_supplement_keeps_the_identity_it_replaced(
    tickets: TicketService, files: DocumentStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import identity

    ticket = await submitted_ticket(tickets, files)
    with pytest.raises(IllegalMove) as refused:
        await tickets.mark_incomplete(
            ticket_id=ticket.id,
            version=ticket.version,
            actor=ADMIN,
            missing=[MissingItem.IDENTITY],
            note=" ",
        )
    assert "catatan" in ticket_error(refused.value)
    ticket = await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=[MissingItem.IDENTITY],
        note="Unit kerja tidak sesuai SK",
    )
    ticket = await tickets.supplement(
        ticket_id=ticket.id,
        channel="telegram",
        chat_id="1001",
        actor=REQUESTER,
        documents=[],
        identity=identity(work_unit="Dinas PUPR", spse_user_id="budi.pupr"),
    )
    assert ticket.work_unit == "Dinas PUPR"
    assert ticket.identity_changes == [
        {"round": 2, "field": "work_unit", "old": "Dinas Pekerjaan Umum", "new": "Dinas PUPR"},
        {"round": 2, "field": "spse_user_id", "old": None, "new": "budi.pupr"},
    ]
    async with sessions() as session:
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.ticket_id == ticket.id, AuditEvent.action == "identity_supplemented"
            )
        )
    assert event is not None
    assert event.detail == {"changed": ["work_unit", "spse_user_id"]}  # no personal data


async def test_the_card_keeps_showing_corrections_and_changes_of_earlier_rounds(
    tickets: TicketService, files: DocumentStore
) -> None:
    from chatbot.conversations.cards import render
    from tests.factories import identity

    ticket = await submitted_ticket(tickets, files)
    for missing, docs, person in (
        ([MissingItem.SK], documents(files)[1:2], None),
        ([MissingItem.IDENTITY], [], identity(name="Budi Santoso, S.T.")),
        ([MissingItem.IDENTITY], [], identity(name="Budi Santoso, S.T.")),
    ):
        ticket = await tickets.mark_incomplete(
            ticket_id=ticket.id,
            version=ticket.version,
            actor=ADMIN,
            missing=missing,
            note="Periksa lagi",
        )
        ticket = await tickets.supplement(
            ticket_id=ticket.id,
            channel="telegram",
            chat_id="1001",
            actor=REQUESTER,
            documents=docs,
            identity=person,
        )
    card = render(ticket, ZoneInfo("Asia/Jakarta")).text
    assert "Dokumen: surat 1 file, SK 2 file (putaran 4)" in card
    assert "📎 Perbaikan putaran 2: SK 1 file" in card
    assert "Data identitas putaran 4: dikirim ulang tanpa perubahan" in card
    assert "diubah pemohon (putaran 3)" in card
    assert "Nama: Budi Santoso → <b>Budi Santoso, S.T.</b>" in card
