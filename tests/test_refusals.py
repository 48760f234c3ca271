"""Every refusal of the ticket service has a sentence, chosen in conversations/."""

from __future__ import annotations

import pytest

from chatbot.conversations import texts as t
from chatbot.db.models import Ticket
from chatbot.services.enums import TicketState
from chatbot.services.tickets import Reason, StaleMove, TicketError


def test_every_reason_has_a_sentence() -> None:
    assert sorted(set(Reason) - set(t.REFUSALS)) == []


@pytest.mark.parametrize("reason", list(Reason))
def test_each_sentence_names_the_ticket_as_it_was_refused(reason: Reason) -> None:
    ticket = Ticket(number="2611-0042", state=TicketState.VALID)
    sentence = t.ticket_error(TicketError(reason, ticket, who="Admin Sari"))
    assert sentence.endswith(".")
    assert reason.value not in sentence
    assert "None" not in sentence


def test_a_refusal_keeps_its_ticket_and_reads_it_at_the_refusal() -> None:
    ticket = Ticket(number="2611-0042", state=TicketState.COMPLETE)
    refused = StaleMove(Reason.ALREADY_HANDLED, ticket)
    ticket.number = "changed later"
    assert refused.ticket is ticket
    assert refused.reason is Reason.ALREADY_HANDLED
    assert t.ticket_error(refused) == "Tiket 2611-0042 sudah diproses."
    assert t.ticket_error(TicketError(Reason.NOT_NOW, ticket)) == (
        "Tiket changed later tidak dapat diproses: menunggu cek keabsahan."
    )
