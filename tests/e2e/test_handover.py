"""The admin's hand-over of the result (SOP steps 6 to 8) when things go wrong: a form that is
gone, a colleague's delivery in between, a crash between sending the link and recording it,
forged taps, and what is deleted from the admin's private chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from chatbot.conversations import texts as t
from chatbot.conversations.cards import render
from chatbot.conversations.payloads import AdminAction, AdminPayload
from chatbot.db.models import CredentialLink
from chatbot.services.credentials import link_hash
from chatbot.services.enums import TicketState
from chatbot.services.forms import token_hash
from chatbot.services.tickets import Actor, LinkAbandoned
from tests.e2e.harness import ADMIN, ADMIN_2, GROUP, OTHER_REQUESTER, REQUESTER, Harness
from tests.e2e.test_credential_loop import audit, run_deadlines, shift, ticket
from tests.test_web_security import form_path, post_json

FORM_SECRET = "Formulir#2026aman"
TYPED = "Ketik2026-Aman"


def forms_offered(bot: Harness) -> list[str]:
    """The form links the admin got in private, oldest first."""
    return [
        form_path(m)
        for m in bot.fake.chat_messages(ADMIN)
        if not m.deleted and m.buttons() == ["📝 Buka formulir hasil"]
    ]


async def claimed(bot: Harness) -> str:
    """Submit, approve and tap Kirim hasil as ADMIN; the path of the form they got."""
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    return forms_offered(bot)[-1]


async def forget_form(bot: Harness, path: str) -> None:
    """The form's grant is gone from the store, as when ADMIN_FORM_TTL has passed."""
    await bot.app.store.delete(f"form:{token_hash(path.removeprefix('/f/'))}")


# ---- "Kirim hasil" again always ends in a working form --------------------------------------


async def test_kirim_hasil_again_after_the_form_expired_sends_a_working_form(
    bot: Harness,
) -> None:
    first = await claimed(bot)
    await forget_form(bot, first)
    assert (await bot.web.get(first)).status_code == 410  # the page says: tap Kirim hasil again

    answer = await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())

    assert "chat pribadi" in answer["text"]
    offered = forms_offered(bot)
    assert len(offered) == 2 and offered[-1] != first
    assert (await bot.web.get(offered[-1])).status_code == 200
    done = await post_json(bot, offered[-1], {"password": FORM_SECRET})
    assert done.status_code == 200
    _, link_id, key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(link_id, key), key) == {"password": FORM_SECRET}


async def test_a_repeat_tap_while_the_form_still_works_sends_nothing_new(bot: Harness) -> None:
    first = await claimed(bot)
    sent = len(bot.fake.chat_messages(ADMIN))

    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())

    assert len(bot.fake.chat_messages(ADMIN)) == sent
    assert (await post_json(bot, first, {"password": FORM_SECRET})).status_code == 200


async def test_after_a_colleagues_delivery_and_batalkan_link_kirim_ulang_gives_a_new_form(
    bot: Harness,
) -> None:
    first = await claimed(bot)
    await bot.press(ADMIN_2, "Kirim hasil", chat=GROUP, message=bot.card())  # takes it over
    await bot.say(ADMIN_2, TYPED)
    assert (await ticket(bot)).state == TicketState.DELIVERED
    await bot.press(ADMIN, "Batalkan link", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Ya, batalkan link", chat=GROUP, message=bot.card())

    await bot.press(ADMIN, "Kirim ulang hasil", chat=GROUP, message=bot.card())

    offered = forms_offered(bot)
    assert offered[-1] != first
    assert (await bot.web.get(first)).status_code == 410  # bound to the earlier hand-over
    done = await post_json(bot, offered[-1], {"password": FORM_SECRET})
    assert done.status_code == 200, done.json()
    _, link_id, key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(link_id, key), key) == {"password": FORM_SECRET}


async def test_a_form_submitted_the_moment_it_arrived_leaves_no_chat_hand_over_behind(
    bot: Harness,
) -> None:
    await bot.submit_request()
    await bot.approve_to_valid()
    messenger = bot.channel.messenger
    plain_send = messenger.send
    submitted: list[int] = []

    async def send_and_submit(chat_id: str, reply: object, **kwargs: object) -> str:
        sent = await plain_send(chat_id, reply, **kwargs)  # type: ignore[arg-type]
        if chat_id == str(ADMIN) and not submitted:
            offer = bot.fake.chat_messages(ADMIN)[-1]
            if offer.buttons() == ["📝 Buka formulir hasil"]:  # a quick admin submits at once
                done = await post_json(bot, form_path(offer), {"password": FORM_SECRET})
                submitted.append(done.status_code)
        return sent

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(messenger, "send", send_and_submit)
        await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())

    assert submitted == [200]
    assert (await ticket(bot)).state == TicketState.DELIVERED
    assert not any("Ketik password baru" in m.content for m in bot.fake.chat_messages(ADMIN))
    # What the admin types in private now is not taken as a password for that ticket.
    state = await bot.app.services.dialogs.load("telegram", str(ADMIN))
    assert state.flow != "admin_result"

    # Later: the link is cancelled and the same admin re-issues: a fresh form arrives.
    await bot.press(ADMIN, "Batalkan link", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Ya, batalkan link", chat=GROUP, message=bot.card())
    before = len(forms_offered(bot))
    await bot.press(ADMIN, "Kirim ulang hasil", chat=GROUP, message=bot.card())
    assert len(forms_offered(bot)) == before + 1


async def test_a_form_for_one_ticket_leaves_the_chat_hand_over_of_another_open(
    bot: Harness,
) -> None:
    first_form = await claimed(bot)
    await bot.submit_request(user=OTHER_REQUESTER)
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())  # the second ticket

    done = await post_json(bot, first_form, {"password": FORM_SECRET})
    assert done.status_code == 200

    # The private chat still hands over the second ticket: the typed password is its result.
    await bot.say(ADMIN, TYPED)
    assert (await ticket(bot)).state == TicketState.DELIVERED
    _, link_id, key = bot.link_in(OTHER_REQUESTER)
    assert bot.decrypt(await bot.reveal(link_id, key), key) == {"password": TYPED}


# ---- a crash between sending the link and recording it -------------------------------------


class Killed(BaseException):
    """The process died (kill -9): nothing after this point runs, no handler catches it."""


async def test_a_link_sent_but_never_recorded_is_found_and_the_ticket_can_be_reissued(
    bot: Harness,
) -> None:
    path = await claimed(bot)
    tickets = bot.app.services.tickets

    async def killed(**_: object) -> None:
        raise Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tickets, "deliver_result", killed)
        with pytest.raises(Killed):
            await post_json(bot, path, {"password": FORM_SECRET})
    _, link_id, key = bot.link_in(REQUESTER)  # it reached the requester

    # Right after the crash the link is known, but not (yet) usable: "being sent".
    page = await bot.web.get(f"/s/{link_id}")
    assert page.status_code == 409 and "sedang dikirim" in page.text
    early = await bot.reveal(link_id, key)
    assert early.status_code == 409 and "sedang dikirim" in early.json()["error"]
    assert await bot.app.store.get(f"cred:{link_hash(link_id)}") is not None  # not consumed

    await run_deadlines(bot)  # too soon for the sweep: a recording may still come
    assert not any("terputus" in m for m in bot.texts(GROUP))

    await shift(bot, CredentialLink, "created_at", timedelta(minutes=3))
    await run_deadlines(bot)

    alert = next(m for m in bot.texts(GROUP) if "terputus" in m)
    assert "Kirim ulang hasil" in alert
    assert "Link: tidak tercatat terkirim, dimatikan" in bot.card().content
    assert bot.card().buttons() == ["🔑 Kirim ulang hasil"]
    assert await bot.app.store.get(f"cred:{link_hash(link_id)}") is None
    refused = await bot.reveal(link_id, key)
    assert refused.status_code == 410 and "dibatalkan" in refused.json()["error"].lower()
    assert (await ticket(bot)).state == TicketState.VALID
    assert "link_unsent" in await audit(bot)
    await run_deadlines(bot)  # found once
    assert sum("terputus" in m for m in bot.texts(GROUP)) == 1

    # The admin re-issues: a new form (the old one was used up by the killed submission).
    await bot.press(ADMIN, "Kirim ulang hasil", chat=GROUP, message=bot.card())
    fresh = forms_offered(bot)[-1]
    assert fresh != path
    assert (await post_json(bot, fresh, {"password": FORM_SECRET})).status_code == 200
    _, new_id, new_key = bot.link_in(REQUESTER)
    assert new_id != link_id
    assert bot.decrypt(await bot.reveal(new_id, new_key), new_key) == {"password": FORM_SECRET}


async def test_a_link_whose_sending_failed_is_dead_on_the_record(bot: Harness) -> None:
    await claimed(bot)
    bot.fake.fail_next("sendMessage", 502, "Bad Gateway", retry_after=None)

    await bot.say(ADMIN, TYPED)

    assert "belum terkirim" in bot.last(ADMIN).content
    async with bot.app.sessions() as session:
        links = (await session.execute(select(CredentialLink))).scalars().all()
    assert [link.state for link in links] == ["revoked"]  # never left waiting as "pending"
    card = render(await ticket(bot), bot.settings.zone)
    assert "Link: tidak tercatat terkirim, dimatikan" in t.plain(card.text)
    await bot.say(ADMIN, TYPED)  # the admin types it again: this one goes out
    assert "Link: terkirim" in bot.card().content  # the one never sent is not counted
    _, link_id, key = bot.link_in(REQUESTER)
    assert bot.decrypt(await bot.reveal(link_id, key), key) == {"password": TYPED}


# ---- the state check, and what is deleted -----------------------------------------------------


async def test_a_forged_kirim_hasil_on_a_submitted_ticket_sends_the_admin_nothing(
    bot: Harness,
) -> None:
    await bot.submit_request()
    current = await ticket(bot)
    forged = AdminPayload(AdminAction.RESULT, current.id, current.version).encode()

    update = bot.fake.press_button(ADMIN, bot.card(), forged, stale=True)
    await bot.settle()

    answer = bot.fake.callback_answers[update["callback_query"]["id"]]
    assert "Menunggu cek kelengkapan" in answer["text"]
    assert "submitted" not in answer["text"]
    assert bot.fake.chat_messages(ADMIN) == []
    assert (await ticket(bot)).result_admin_id is None


async def test_a_forged_kirim_hasil_on_a_rejected_ticket_says_how_it_ended(bot: Harness) -> None:
    await bot.submit_request()
    services = bot.app.services
    current = await ticket(bot)
    current = await services.tickets.mark_complete(
        ticket_id=current.id, version=current.version, actor=Actor("telegram:1", "Admin")
    )
    current = await services.tickets.reject(
        ticket_id=current.id,
        version=current.version,
        actor=Actor("telegram:1", "Admin"),
        reason="SK tidak berlaku",
    )
    current = await services.archiver.archive(current.id)
    forged = AdminPayload(AdminAction.RESULT, current.id, current.version).encode()

    update = bot.fake.press_button(ADMIN, bot.card(), forged, stale=True)
    await bot.settle()

    answer = bot.fake.callback_answers[update["callback_query"]["id"]]
    assert "Ditolak, diarsipkan" in answer["text"]
    assert "Selesai" not in answer["text"]


async def test_the_typed_user_id_is_deleted_like_the_password(bot: Harness) -> None:
    await bot.submit_request(kind="Reset + info user ID")
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())

    await bot.say(ADMIN, "budi.pu.2020")
    done = await bot.say(ADMIN, TYPED)

    for typed in ("budi.pu.2020", TYPED):
        messages = [m for m in bot.fake.user_messages(ADMIN) if m.text == typed]
        assert messages and all(m.deleted for m in messages), typed
    assert "Pesan password Anda sudah dihapus" in done.content


async def test_the_form_confirmation_does_not_claim_a_password_message_was_deleted(
    bot: Harness,
) -> None:
    path = await claimed(bot)

    done = await post_json(bot, path, {"password": FORM_SECRET})

    assert done.status_code == 200
    assert "sudah dihapus" not in done.json()["message"]
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    assert "sudah dihapus" not in bot.last(ADMIN).content


async def test_a_user_id_only_hand_over_does_not_mention_a_password_message(
    bot: Harness,
) -> None:
    await bot.submit_request(kind="Informasi user ID")
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())

    done = await bot.say(ADMIN, "budi.pu.2020")

    assert "dikirim ke pemohon" in done.content and "password" not in done.content.lower()
    typed = [m for m in bot.fake.user_messages(ADMIN) if m.text == "budi.pu.2020"]
    assert typed and all(m.deleted for m in typed)


async def test_a_recording_that_comes_after_the_sweep_gave_the_link_up_is_refused(
    bot: Harness,
) -> None:
    await claimed(bot)
    services = bot.app.services
    current = await ticket(bot)
    actor = Actor(f"telegram:{ADMIN}", "Sari")
    link = await services.vault.issue(ticket_number=str(current.number), secret={"password": TYPED})
    await services.tickets.record_pending_link(
        ticket_id=current.id,
        version=current.version,
        actor=actor,
        link_hash=link.link_hash,
        expires_at=link.expires_at,
    )
    await shift(bot, CredentialLink, "created_at", timedelta(minutes=3))
    assert await services.tickets.abandon_unsent_links(older_than=timedelta(minutes=2)) == [
        link.link_hash
    ]

    with pytest.raises(LinkAbandoned):
        await services.tickets.deliver_result(
            ticket_id=current.id,
            version=current.version,
            actor=actor,
            link_hash=link.link_hash,
            expires_at=link.expires_at,
        )

    after = await ticket(bot)
    assert after.state == TicketState.VALID and after.version == current.version
    assert after.latest_link is not None and after.latest_link.state == "revoked"
