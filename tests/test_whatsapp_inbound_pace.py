"""Inbound WhatsApp messages use the business number's throughput, which inbound and outbound
share (about 80/s): counted when a webhook body is stored, never delaying or refusing it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from chatbot.channels.pacing import PaceLimits, Pacer
from chatbot.channels.whatsapp import WhatsAppChannel, split_body
from chatbot.conversations.messages import Throttled
from chatbot.pipeline.ports import Raw
from chatbot.services.ratelimit import Limit
from chatbot.store import Store
from tests import whatsapp_payloads as wa

BUDI = "6281234567001"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
# Four a second for the number; chats unlimited here.
FOUR = PaceLimits(*(Limit(n, timedelta(seconds=1)) for n in (4, 100, 100)))


def a_body() -> list[Raw]:
    """Two messages and a status of one of ours, in one webhook body."""
    messages = [wa.text(wa.wamid(1), BUDI, "halo"), wa.text(wa.wamid(2), BUDI, "/start")]
    statuses = [wa.status(wa.wamid(3), "delivered", BUDI)]
    contacts = [wa.contact(BUDI, "Budi")]
    return split_body(wa.body(wa.value(messages, statuses, contacts)))


async def stored(channel: str, raws: Sequence[Raw]) -> int:
    return len(raws)


async def test_a_bodys_messages_count_against_the_numbers_budget(store: Store) -> None:
    pacer = Pacer(store, "whatsapp", FOUR, clock=lambda: NOW)
    channel = WhatsAppChannel(inbound=pacer.count_inbound)
    channel.connect(stored)
    assert await channel.receive(a_body()) == 3  # all stored
    await pacer.turn("6281234567002", group=False, wait=False)
    await pacer.turn("6281234567003", group=False, wait=False)  # 2 in + 2 out: the budget
    with pytest.raises(Throttled):  # statuses are no messages: not counted
        await pacer.turn("6281234567004", group=False, wait=False)


async def test_a_failing_count_never_refuses_the_body(store: Store) -> None:
    async def broken(messages: int) -> None:
        raise ConnectionError("store down")

    channel = WhatsAppChannel(inbound=broken)
    channel.connect(stored)
    assert await channel.receive(a_body()) == 3


async def test_a_spent_budget_never_refuses_a_body(store: Store) -> None:
    pacer = Pacer(store, "whatsapp", FOUR, clock=lambda: NOW)
    channel = WhatsAppChannel(inbound=pacer.count_inbound)
    channel.connect(stored)
    for _ in range(3):  # six messages against a budget of four
        assert await channel.receive(a_body()) == 3
    with pytest.raises(Throttled):  # our own sends wait for the next second
        await pacer.turn("6281234567002", group=False, wait=False)


async def test_messages_to_another_number_of_the_account_are_not_ours_to_count(
    store: Store,
) -> None:
    pacer = Pacer(store, "whatsapp", FOUR, clock=lambda: NOW)
    channel = WhatsAppChannel("another-number-id", inbound=pacer.count_inbound)
    channel.connect(stored)
    await channel.receive(a_body())
    for chat in ("6281234567002", "6281234567003", "6281234567004", "6281234567005"):
        await pacer.turn(chat, group=False, wait=False)  # the whole budget still ours
