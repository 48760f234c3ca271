"""Notices: every kind has a renderer, and a renderer says what goes to whom."""

from __future__ import annotations

import pytest

from chatbot.conversations import texts as t
from chatbot.conversations.context import Services
from chatbot.conversations.messages import Reply
from chatbot.conversations.notices import RENDERERS, NoticeContext, Send, UnknownNotice, render
from chatbot.db.models import OutboxMessage, Ticket
from chatbot.services.documents import DocumentStore
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets import TicketService
from tests.factories import submitted_ticket


def test_every_notice_kind_has_a_renderer() -> None:
    missing = [kind for kind in NoticeKind if kind not in RENDERERS]
    assert missing == []


def _row(kind: str, audience: str, ticket: Ticket) -> OutboxMessage:
    to_requester = audience == "requester"
    return OutboxMessage(
        ticket_id=ticket.id,
        audience=audience,
        kind=kind,
        payload={},
        channel="telegram" if to_requester else None,
        chat_id=ticket.requester.chat_id if to_requester else None,
    )


async def test_an_expired_link_is_told_to_the_requester_and_to_the_admins_under_the_card(
    tickets: TicketService, files: DocumentStore, services: Services
) -> None:
    ticket = await submitted_ticket(tickets, files, chat_id="1001")
    ticket.admin_message_id = "77"
    number = str(ticket.number)

    to_requester = render(
        NoticeContext(_row(NoticeKind.LINK_EXPIRED, "requester", ticket), services, ticket)
    )
    to_admins = render(
        NoticeContext(_row(NoticeKind.LINK_EXPIRED, "admins", ticket), services, ticket)
    )

    assert to_requester == Send(Reply(t.link_expired_notice(number)), chat="1001")
    assert to_admins == Send(Reply(t.link_expired_alert(number)), reply_to="77")


@pytest.mark.parametrize("kind", ["crad", NoticeKind.REJECTED])
async def test_a_misspelt_kind_or_one_for_the_other_audience_is_refused(
    tickets: TicketService, files: DocumentStore, services: Services, kind: str
) -> None:
    ticket = await submitted_ticket(tickets, files)
    with pytest.raises(UnknownNotice):
        render(NoticeContext(_row(kind, "admins", ticket), services, ticket))
