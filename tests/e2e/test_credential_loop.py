"""Closing step 8's loop: receipt, "Bukan saya", confirmation, reminders, expiry, revoke."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta

from sqlalchemy import select, text

from chatbot.db.models import AuditEvent, Base, CredentialLink, Ticket
from chatbot.logs import configure_logging
from chatbot.services.credentials import link_hash
from chatbot.services.enums import TicketState
from tests.e2e.harness import ADMIN, ADMIN_2, GROUP, REQUESTER, Harness

PASSWORD = "Spse2026-Baru!"


async def hand_over(bot: Harness, password: str = PASSWORD) -> tuple[str, str]:
    """Submit, approve and hand the password over in chat; the requester's (link id, key)."""
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, password)
    _, link_id, key = bot.link_in(REQUESTER)
    return link_id, key


async def ticket(bot: Harness) -> Ticket:
    async with bot.app.sessions() as session:
        found = (await session.execute(select(Ticket).order_by(Ticket.id.desc()))).scalars()
        newest = found.first()
    assert newest is not None
    return await bot.app.services.tickets.get(newest.id)


async def audit(bot: Harness) -> list[str]:
    async with bot.app.sessions() as session:
        rows = await session.execute(select(AuditEvent.action).order_by(AuditEvent.id))
        return list(rows.scalars())


async def shift(
    bot: Harness, model: type[Ticket | CredentialLink], column: str, by: timedelta
) -> None:
    """Move a time column of every row into the past, as if that much time had gone by."""
    async with bot.app.sessions.begin() as session:
        for row in (await session.execute(select(model))).scalars():
            setattr(row, column, getattr(row, column) - by)


async def run_deadlines(bot: Harness) -> None:
    await bot.pipeline.jobs.deadlines()
    await bot.pipeline.sender.flush()


async def test_bukan_saya_makes_an_incident_and_the_admins_reset_again(bot: Harness) -> None:
    link_id, key = await hand_over(bot)
    assert (await bot.reveal(link_id, key)).status_code == 200

    await bot.press(REQUESTER, "Bukan saya", message=bot.with_button(REQUESTER, "Bukan saya"))

    assert "dibuka bukan oleh Anda" in bot.last(REQUESTER).content
    alert = next(m for m in reversed(bot.fake.chat_messages(GROUP)) if "INSIDEN" in m.content)
    assert "reset ulang password di SPSE" in alert.content
    card = bot.card()
    assert "Insiden" in card.content and card.buttons() == ["🔑 Kirim ulang hasil"]
    current = await ticket(bot)
    assert current.state == TicketState.VALID and current.incidents == 1
    assert "incident" in await audit(bot)

    # Another admin resets again and re-issues; the new link works, the old one stays dead.
    await bot.press(ADMIN_2, "Kirim ulang hasil", chat=GROUP, message=card)
    await bot.say(ADMIN_2, "Ulang2026-Aman")
    _, new_id, new_key = bot.link_in(REQUESTER)
    assert new_id != link_id
    assert (await bot.reveal(link_id, key)).status_code == 410
    assert bot.decrypt(await bot.reveal(new_id, new_key), new_key) == {"password": "Ulang2026-Aman"}
    assert "Link ke-2: dibuka" in bot.card().content


async def test_the_requester_is_reminded_once_per_interval_then_the_ticket_closes(
    bot: Harness,
) -> None:
    link_id, key = await hand_over(bot)
    await bot.reveal(link_id, key)
    sent_before = len(bot.texts(REQUESTER))

    await run_deadlines(bot)  # nothing is due yet
    assert len(bot.texts(REQUESTER)) == sent_before

    await shift(bot, Ticket, "state_since", timedelta(hours=5))  # past the 4 h reminder
    # Two workers' sweeps at once: the reminder goes out exactly once.
    await asyncio.gather(bot.pipeline.jobs.deadlines(), bot.pipeline.jobs.deadlines())
    await bot.pipeline.sender.flush()
    reminders = [t for t in bot.texts(REQUESTER) if "Pengingat" in t]
    assert len(reminders) == 1
    assert bot.last(REQUESTER).buttons() == ["✅ Sudah login", "🚨 Bukan saya"]
    assert "diingatkan 1x" in bot.card().content

    await shift(bot, Ticket, "state_since", timedelta(hours=20))  # 25 h: closed unconfirmed
    await run_deadlines(bot)
    closed = await ticket(bot)
    assert closed.state == TicketState.ARCHIVED and closed.confirmed_at is None
    assert "tanpa konfirmasi login" in bot.last(REQUESTER).content
    assert "Ditutup tanpa konfirmasi login pemohon" in bot.card().content

    # A late tap on the old receipt changes nothing.
    answer = await bot.press(REQUESTER, "Sudah login", message=bot.with_button(REQUESTER, "Sudah"))
    assert "tidak sedang menunggu" in answer["text"]


async def test_an_expired_unopened_link_is_reported_and_can_be_reissued(bot: Harness) -> None:
    link_id, key = await hand_over(bot)
    await shift(bot, CredentialLink, "expires_at", timedelta(hours=3))

    await run_deadlines(bot)

    assert "kedaluwarsa sebelum dibuka" in bot.last(REQUESTER).content
    assert any("kedaluwarsa tanpa dibuka" in m for m in bot.texts(GROUP))
    card = bot.card()
    assert "Link: kedaluwarsa" in card.content and card.buttons() == ["🔑 Kirim ulang hasil"]
    assert (await bot.reveal(link_id, key)).status_code == 410
    assert "link_expired" in await audit(bot)
    await run_deadlines(bot)  # a second sweep finds nothing more to report
    assert sum("kedaluwarsa sebelum dibuka" in m for m in bot.texts(REQUESTER)) == 1

    await bot.press(ADMIN, "Kirim ulang hasil", chat=GROUP, message=card)
    await bot.say(ADMIN, PASSWORD)
    _, new_id, new_key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(new_id, new_key), new_key) == {"password": PASSWORD}


async def test_a_link_the_store_lost_is_reported_and_can_be_reissued(bot: Harness) -> None:
    """Redis restarted without keeping its data: the requester opens a link whose sealed
    secret is gone. They are told it is lost (not "opened or expired"); the group too."""
    link_id, key = await hand_over(bot)
    await bot.app.store.delete(f"cred:{link_hash(link_id)}")

    refused = await bot.reveal(link_id, key)

    assert refused.status_code == 410
    assert "gangguan penyimpanan" in refused.json()["error"]
    notice = bot.last(REQUESTER).content
    assert "tidak bisa dibuka lagi" in notice and "link baru" in notice
    alert = next(m for m in reversed(bot.fake.chat_messages(GROUP)) if "hilang" in m.content)
    assert alert.reply_to_message_id == bot.card().message_id
    assert "Kirim ulang hasil" in alert.content
    card = bot.card()
    assert "Link: hilang dari penyimpanan" in card.content
    assert card.buttons() == ["🔑 Kirim ulang hasil"]
    assert (await ticket(bot)).state == TicketState.VALID
    assert "link_lost" in await audit(bot)
    assert (await bot.reveal(link_id, key)).status_code == 410
    assert sum("tidak bisa dibuka lagi" in m for m in bot.texts(REQUESTER)) == 1

    await bot.press(ADMIN, "Kirim ulang hasil", chat=GROUP, message=card)
    await bot.say(ADMIN, PASSWORD)
    _, new_id, new_key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(new_id, new_key), new_key) == {"password": PASSWORD}


async def test_the_sweep_reports_a_lost_link_before_the_requester_opens_it(
    bot: Harness,
) -> None:
    link_id, _ = await hand_over(bot)
    await run_deadlines(bot)  # the ciphertext is there: nothing to report
    assert (await ticket(bot)).state == TicketState.DELIVERED

    await bot.app.store.delete(f"cred:{link_hash(link_id)}")
    await asyncio.gather(run_deadlines(bot), run_deadlines(bot))  # two workers' sweeps

    assert sum("tidak bisa dibuka lagi" in m for m in bot.texts(REQUESTER)) == 1
    assert sum("hilang dari penyimpanan server" in m for m in bot.texts(GROUP)) == 1
    assert (await ticket(bot)).state == TicketState.VALID
    assert (await audit(bot)).count("link_lost") == 1


async def test_a_lost_links_old_deadline_does_not_expire_the_new_link(bot: Harness) -> None:
    """Link 1 is lost and link 2 sent; when link 1's deadline passes, link 2 still works."""
    link_id, _ = await hand_over(bot)
    await bot.app.store.delete(f"cred:{link_hash(link_id)}")
    await run_deadlines(bot)
    await bot.press(ADMIN, "Kirim ulang hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, PASSWORD)
    _, new_id, new_key = bot.link_in(REQUESTER)
    async with bot.app.sessions.begin() as session:
        first = (await session.execute(select(CredentialLink).order_by(CredentialLink.id))).scalar()
        assert first is not None and first.lost_at is not None
        first.expires_at -= timedelta(hours=3)

    await run_deadlines(bot)

    assert (await ticket(bot)).state == TicketState.DELIVERED
    assert not any("kedaluwarsa sebelum dibuka" in m for m in bot.texts(REQUESTER))
    assert "Link ke-2: terkirim" in bot.card().content
    assert bot.decrypt(await bot.reveal(new_id, new_key), new_key) == {"password": PASSWORD}


async def test_batalkan_link_revokes_it_before_it_is_opened(bot: Harness) -> None:
    link_id, key = await hand_over(bot)

    await bot.press(ADMIN, "Batalkan link", chat=GROUP, message=bot.card())
    assert bot.card().buttons() == ["Ya, batalkan link", "« Kembali"]
    answer = await bot.press(ADMIN, "Ya, batalkan link", chat=GROUP, message=bot.card())

    assert "dibatalkan" in answer["text"].lower()
    assert "dibatalkan oleh admin" in bot.last(REQUESTER).content
    assert "Link: dibatalkan" in bot.card().content and "Sari" in bot.card().content
    refused = await bot.reveal(link_id, key)
    assert refused.status_code == 410 and "dibatalkan" in refused.json()["error"].lower()
    assert "link_revoked" in await audit(bot)


async def test_a_link_opened_first_cannot_be_revoked_afterwards(bot: Harness) -> None:
    link_id, key = await hand_over(bot)
    await bot.press(ADMIN, "Batalkan link", chat=GROUP, message=bot.card())
    confirm = bot.card()
    confirm_data = confirm.button("Ya, batalkan link")
    assert (await bot.reveal(link_id, key)).status_code == 200  # the requester was faster

    # The admin's app still shows the confirmation the bot has since replaced.
    update_ = bot.fake.press_button(ADMIN, confirm, confirm_data, stale=True)
    await bot.settle()

    answer = bot.fake.callback_answers[update_["callback_query"]["id"]]
    assert "sudah ditangani" in answer["text"]
    assert (await ticket(bot)).state == TicketState.RECEIVED
    assert "link_revoked" not in await audit(bot)


async def test_a_whole_delivery_at_debug_level_leaks_neither_password_nor_key(
    bot: Harness,
) -> None:
    captured = io.StringIO()
    handler = configure_logging("DEBUG", captured)
    try:
        link_id, key = await hand_over(bot, "Bocor-Tidak-2026")
        await bot.web.get(f"/s/{link_id}")
        revealed = await bot.reveal(link_id, key)
        await bot.press(REQUESTER, "Sudah login", message=bot.with_button(REQUESTER, "Sudah"))
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    assert bot.decrypt(revealed, key) == {"password": "Bocor-Tidak-2026"}

    output = captured.getvalue()
    assert "handed over" in output and "revealed" in output  # the capture saw our logging
    for secret in ("Bocor-Tidak-2026", key, link_id):
        assert secret not in output
    async with bot.app.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(text(f"SELECT * FROM {table.name}"))).all()
            dump = repr(rows)
            for secret in ("Bocor-Tidak-2026", key, link_id):
                assert secret not in dump, table.name


async def test_the_status_offers_the_confirmation_while_it_is_awaited(bot: Harness) -> None:
    link_id, key = await hand_over(bot)
    await bot.reveal(link_id, key)

    status = await bot.say(REQUESTER, "/status")

    assert "menunggu konfirmasi" in status.content
    assert status.buttons() == ["✅ Sudah login", "🚨 Bukan saya"]
    await bot.press(REQUESTER, "Sudah login", message=status)
    assert (await ticket(bot)).state == TicketState.ARCHIVED


async def test_batalkan_link_works_even_when_the_store_lost_the_ciphertext(bot: Harness) -> None:
    link_id, _key = await hand_over(bot)
    await bot.app.store.delete(f"cred:{link_hash(link_id)}")  # e.g. Redis restarted empty

    await bot.press(ADMIN, "Batalkan link", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Ya, batalkan link", chat=GROUP, message=bot.card())

    assert (await ticket(bot)).state == TicketState.VALID
    assert bot.card().buttons() == ["🔑 Kirim ulang hasil"]
