"""The Admin Agency group: incomplete and supplemented, invalid and rejected, authorisation,
double taps and stale buttons."""

from __future__ import annotations

from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.e2e.harness import (
    ADMIN,
    ADMIN_2,
    GROUP,
    OTHER_REQUESTER,
    REQUESTER,
    STRANGER,
    Harness,
    bot_settings,
)
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_models import FakeMessage


async def test_incomplete_then_supplemented_then_valid(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    assert "Pilih yang kurang" in bot.card().content
    await bot.press(ADMIN, "SK pengangkatan", chat=GROUP, message=bot.card())
    assert "☑️ SK pengangkatan" in bot.card().buttons()

    # A note, typed as a reply to the bot's question in the group.
    await bot.press(ADMIN, "Tambah catatan", chat=GROUP, message=bot.card())
    question = bot.last(GROUP)
    assert "balas pesan ini" in question.content
    await bot.say(ADMIN, "SK belum ada tanda tangan", chat=GROUP, reply_to=question.message_id)
    assert "SK belum ada tanda tangan" in bot.card().content
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())

    notice = bot.last(REQUESTER)
    assert f"{number}</b>" not in notice.content  # HTML was rendered, not shown
    assert "belum lengkap" in notice.content
    assert "SK pengangkatan" in notice.content and "SK belum ada tanda tangan" in notice.content
    assert "Surat permohonan" not in notice.content
    assert "menunggu pemohon melengkapi" in bot.card().content.lower()

    # Step 4: the requester sends the SK again in the same chat.
    await bot.press(REQUESTER, "Lengkapi")
    assert "SK pengangkatan" in bot.last(REQUESTER).content
    await bot.upload_pdf(REQUESTER, "SK bertanda tangan")
    await bot.press(REQUESTER, "Selesai")
    assert "SK: 1 file" in bot.last(REQUESTER).content
    await bot.press(REQUESTER, "Kirim kelengkapan")
    assert "Kelengkapan tiket" in bot.last(REQUESTER).content

    card = bot.card()
    assert "cek kelengkapan lagi" in card.content
    assert "putaran 2" in card.content
    assert card.buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]
    supplement = [m for m in bot.fake.chat_messages(GROUP) if m.document][-1]
    assert supplement.reply_to_message_id == card.message_id

    await bot.approve_to_valid()
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.VALID
    assert [s.step for s in ticket.steps] == [1, 2, 3, 4, 2, 5, 6]


async def test_invalid_with_a_preset_reason_rejects_and_archives(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "SK tidak sah", chat=GROUP, message=bot.card())

    notice = bot.last(REQUESTER)
    assert "ditolak" in notice.content and "SK tidak sah atau sudah tidak berlaku" in notice.content
    card = bot.card()
    assert "diarsipkan" in card.content.lower() and card.buttons() == []
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.ARCHIVED
    assert ticket.rejection_reason == "SK tidak sah atau sudah tidak berlaku"


async def test_invalid_with_a_typed_reason(bot: Harness) -> None:
    await bot.submit_request()
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Alasan lain", chat=GROUP, message=bot.card())
    question = bot.last(GROUP)
    await bot.say(ADMIN, "NIP tidak terdaftar di SPSE", chat=GROUP, reply_to=question.message_id)
    assert "NIP tidak terdaftar di SPSE" in bot.last(REQUESTER).content


async def test_a_stranger_tapping_an_admin_button_changes_nothing(bot: Harness) -> None:
    number = await bot.submit_request()
    before = bot.card().content
    answer = await bot.press(STRANGER, "Lengkap", chat=GROUP, message=bot.card())
    assert answer["show_alert"] is True
    assert "hanya admin" in answer["text"]
    assert bot.card().content == before
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.SUBMITTED


async def test_two_admins_tapping_at_once_yield_one_decision(bot: Harness) -> None:
    number = await bot.submit_request()
    card = bot.card()
    first = bot.fake.press_button(ADMIN, card, card.button("Lengkap"))
    second = bot.fake.press_button(ADMIN_2, card, card.button("Tidak lengkap"))
    await bot.settle()
    answers = [bot.fake.callback_answers[u["callback_query"]["id"]] for u in (first, second)]
    assert answers[0].get("text") == "Ditandai lengkap."
    assert answers[1]["show_alert"] is True
    assert "sudah ditangani oleh Sari" in answers[1]["text"]
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.COMPLETE
    assert "menunggu cek keabsahan" in bot.card().content.lower()


async def test_a_stale_button_says_who_handled_it_and_refreshes_the_card(bot: Harness) -> None:
    await bot.submit_request()
    old_card = bot.fake.message(GROUP, bot.card().message_id)
    old_data = old_card.button("Tidak lengkap")
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=old_card)
    await bot.press(ADMIN, "Valid", chat=GROUP, message=bot.card())
    update = bot.fake.press_button(ADMIN_2, old_card, old_data, stale=True)
    await bot.settle()
    answer = bot.fake.callback_answers[update["callback_query"]["id"]]
    assert answer["show_alert"] is True
    assert "sudah ditangani oleh Sari" in answer["text"]
    assert "Valid" in answer["text"]
    assert bot.card().buttons() == ["🔑 Kirim hasil"]


async def test_an_admin_who_never_started_the_bot_is_told_to(bot: Harness) -> None:
    bot.fake.users[ADMIN_2].started = False
    number = await bot.submit_request()
    await bot.approve_to_valid()
    answer = await bot.press(ADMIN_2, "Kirim hasil", chat=GROUP, message=bot.card())
    assert answer["show_alert"] is True
    assert "chat pribadi" in answer["text"] and "Start" in answer["text"]
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.result_admin_id is None


async def test_only_the_admin_who_took_the_result_can_hand_it_over(bot: Harness) -> None:
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.press(ADMIN_2, "Kirim hasil", chat=GROUP, message=bot.card())
    assert "Hasil sedang diisi oleh Joko" in bot.card().content
    refused = await bot.say(ADMIN, "Rahasia#2026baru")
    assert "sudah ditangani" in refused.content
    assert "https://" not in "".join(bot.texts(REQUESTER)[-1:])
    done = await bot.say(ADMIN_2, "Rahasia#2026lain")
    assert "dikirim ke pemohon" in done.content


async def test_idgrup_tells_the_operator_the_group_id(bot: Harness) -> None:
    answer = await bot.say(STRANGER, "/idgrup", chat=GROUP)
    assert str(GROUP) in answer.content


async def test_with_an_admin_list_only_listed_admins_may_act(
    fake: FakeBotApi, settings: Settings, engine: object
) -> None:
    harness = Harness(
        fake, bot_settings(settings, fake, telegram_admin_user_ids=frozenset({ADMIN}))
    )
    await harness.start()
    try:
        number = await harness.submit_request()
        refused = await harness.press(ADMIN_2, "Lengkap", chat=GROUP, message=harness.card())
        assert refused["show_alert"] is True and "hanya admin" in refused["text"]
        await harness.press(ADMIN, "Lengkap", chat=GROUP, message=harness.card())
        ticket = await harness.app.services.tickets.find_by_number(number)
        assert ticket is not None and ticket.state == TicketState.COMPLETE
        assert not fake.calls_of("getChatAdministrators")
    finally:
        await harness.stop()


async def test_only_a_reply_to_the_bots_question_counts_as_a_reason(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tidak valid", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Alasan lain", chat=GROUP, message=bot.card())
    question = bot.last(GROUP)
    assert 'href="tg://user?id=9001"' in str(question.source_text)
    await bot.press(ADMIN, "Kembali", chat=GROUP, message=bot.card())
    # Later the admin replies to the card (or to the old question) about something else.
    bot.fake.send_text(
        ADMIN,
        "oke nanti saya telepon dulu",
        chat_id=GROUP,
        reply_to_message_id=bot.card().message_id,
    )
    bot.fake.send_text(ADMIN, "sebentar ya", chat_id=GROUP, reply_to_message_id=question.message_id)
    await bot.settle()
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.COMPLETE
    assert "ditolak" not in bot.last(REQUESTER).content


async def test_a_supplement_of_identity_data_only_reaches_the_group(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.press(ADMIN, "Tidak lengkap", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Data identitas", chat=GROUP, message=bot.card())
    await bot.press(ADMIN, "Tambah catatan", chat=GROUP, message=bot.card())
    question = bot.last(GROUP)
    await bot.say(
        ADMIN, "Nama dan unit kerja tidak sesuai SK", chat=GROUP, reply_to=question.message_id
    )
    await bot.press(ADMIN, "Kirim ke pemohon", chat=GROUP, message=bot.card())
    await bot.press(REQUESTER, "Lengkapi")
    await bot.say(REQUESTER, "Budi Santoso, S.T.")
    await bot.say(REQUESTER, "198503122010011004")
    await bot.say(REQUESTER, "Dinas PUPR")
    await bot.press(REQUESTER, "Lewati")
    await bot.say(REQUESTER, "budi.st@magelangkota.go.id")
    await bot.press(REQUESTER, "Kirim kelengkapan")
    assert "Kelengkapan tiket" in bot.last(REQUESTER).content
    card = bot.card()
    assert "Budi Santoso, S.T." in card.content and "Dinas PUPR" in card.content
    assert "cek kelengkapan lagi" in card.content
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.SUPPLEMENTED
    # The queue is not blocked: the next ticket still reaches the group.
    second = await bot.submit_request(user=OTHER_REQUESTER)
    assert f"Tiket {second}" in bot.card().content


def bot_messages(bot: Harness, chat: int) -> list[FakeMessage]:
    return [m for m in bot.fake.chat_messages(chat) if m.from_bot]


async def test_an_unknown_command_in_the_group_gets_a_short_answer(bot: Harness) -> None:
    answer = await bot.say(ADMIN, "/antri", chat=GROUP)
    assert answer.from_bot and answer.content == "Perintah tidak dikenal. Ketik /bantuan."
    answer = await bot.say(ADMIN, "/statistik@spse_reset_bot", chat=GROUP)
    assert answer.from_bot and "Perintah tidak dikenal" in answer.content
    # A command for another bot in the group is none of ours.
    before = len(bot_messages(bot, GROUP))
    await bot.say(ADMIN, "/start@other_bot", chat=GROUP)
    assert len(bot_messages(bot, GROUP)) == before


async def test_a_member_who_is_not_an_admin_is_told_once_not_each_time(bot: Harness) -> None:
    before = len(bot_messages(bot, GROUP))
    for _ in range(40):
        bot.fake.send_text(STRANGER, "/antrian", chat_id=GROUP)
    bot.fake.send_text(STRANGER, "/tidakada", chat_id=GROUP)
    await bot.settle()
    told = bot_messages(bot, GROUP)[before:]
    assert [m.content for m in told] == ["Maaf, hanya admin agency yang dapat melakukan ini."]
    # The group's send budget is left for the work: a new ticket's card arrives.
    number = await bot.submit_request()
    assert f"Tiket {number}" in bot.card().content
    # An admin's commands are answered as always.
    assert "Antrian: 1 tiket" in (await bot.say(ADMIN, "/antrian", chat=GROUP)).content


async def test_a_queue_line_brings_the_ticket_card_back_with_its_buttons(bot: Harness) -> None:
    number = await bot.submit_request()
    old = bot.card()
    queue = await bot.say(ADMIN, "/antrian", chat=GROUP)
    assert queue.buttons() == [f"🎫 {number}"]

    answer = await bot.press(ADMIN, f"🎫 {number}", chat=GROUP, message=queue)
    assert answer["text"] == f"Kartu tiket {number} dikirim ulang di bawah."
    card = bot.card()
    assert card.message_id != old.message_id
    assert card.message_id == bot.last(GROUP).message_id  # the newest message in the group
    assert card.buttons() == ["✅ Lengkap", "⚠️ Tidak lengkap"]
    moved = bot.fake.message(GROUP, old.message_id)
    assert "dikirim ulang di bawah" in moved.content and moved.buttons() == []

    # The card sent again is the ticket's card: its buttons act, and it is kept up to date.
    await bot.press(ADMIN, "Lengkap", chat=GROUP, message=card)
    assert "menunggu cek keabsahan" in bot.fake.message(GROUP, card.message_id).content.lower()
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None and ticket.state == TicketState.COMPLETE
    assert ticket.admin_message_id == str(card.message_id)


async def test_a_search_line_brings_the_ticket_card_back(bot: Harness) -> None:
    number = await bot.submit_request()
    await bot.approve_to_valid()
    found = await bot.say(ADMIN, f"/cari {number}", chat=GROUP)
    assert found.buttons() == [f"🎫 {number}"]
    await bot.press(ADMIN, f"🎫 {number}", chat=GROUP, message=found)
    assert bot.card().message_id == bot.last(GROUP).message_id
    assert bot.card().buttons() == ["🔑 Kirim hasil"]


async def test_a_forged_toggle_is_refused_at_once(bot: Harness) -> None:
    number = await bot.submit_request()
    ticket = await bot.app.services.tickets.find_by_number(number)
    assert ticket is not None
    card = bot.card()
    forged = f"a|tg|{ticket.id}|{ticket.version}|garbage"
    update = bot.fake.press_button(ADMIN, card, forged, stale=True)
    await bot.settle()
    answer = bot.fake.callback_answers[update["callback_query"]["id"]]
    assert answer["show_alert"] is True and answer["text"] == "Tombol ini tidak dikenal."
    assert not any("gangguan" in text for text in bot.texts(GROUP))
    assert bot.fake.message(GROUP, card.message_id).content == card.content


async def test_a_button_of_another_ticket_edits_that_tickets_own_card(bot: Harness) -> None:
    first = await bot.submit_request()
    first_card = bot.card()
    second = await bot.submit_request(user=OTHER_REQUESTER)
    second_card = bot.card()
    ticket = await bot.app.services.tickets.find_by_number(second)
    assert ticket is not None
    # A button of the second ticket, pressed on the first ticket's card (a forged client).
    payload = f"a|inc|{ticket.id}|{ticket.version}|"
    update = bot.fake.press_button(ADMIN, first_card, payload, stale=True)
    await bot.settle()
    answer = bot.fake.callback_answers[update["callback_query"]["id"]]
    assert f"tiket {second}" in answer["text"]
    shown_first = bot.fake.message(GROUP, first_card.message_id)
    assert shown_first.content == first_card.content
    assert f"Tiket {first}" in shown_first.content
    shown_second = bot.fake.message(GROUP, second_card.message_id)
    assert "Pilih yang kurang" in shown_second.content
