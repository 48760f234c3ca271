"""A queued notice whose kind no renderer knows is given up; the chat's later rows go on."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.db.models import OutboxMessage
from chatbot.services.notices import NoticeKind
from tests.e2e.harness import ADMIN, GROUP, REQUESTER, Harness


async def test_a_notice_of_an_unknown_kind_is_given_up_and_the_card_still_moves_on(
    bot: Harness,
) -> None:
    await bot.submit_request()
    ticket_id = (
        await bot.app.services.tickets.for_requester(channel="telegram", chat_id=str(REQUESTER))
    )[0].id
    async with bot.app.sessions.begin() as session:  # a row written by an older version
        session.add(OutboxMessage(ticket_id=ticket_id, audience="admins", kind="crad"))
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.pipeline.sender.flush()

    assert "❌ Tidak valid" in bot.card().buttons()
    async with bot.app.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    given_up = [(r.kind, r.last_error) for r in rows if r.failed_at is not None]
    assert given_up == [("crad", "unknown kind")]
    assert all(r.sent_at is not None for r in rows if r.kind == NoticeKind.CARD)
