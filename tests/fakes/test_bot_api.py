"""Behaviour of the strict fake Bot API, driven by python-telegram-bot's real Bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import (
    Bot,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes import FakeBotApi

TOKEN = "123:ABC"
ALICE = 42
BOB = 43
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def msg(update: Update) -> Message:
    assert update.message is not None
    return update.message


def doc(message: Message) -> Document:
    assert message.document is not None
    return message.document


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        server.add_user(ALICE, "Alice", "alice")
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_url) as client:
        yield client


async def test_send_edit_and_not_modified(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "<b>Hello</b> &amp; bye", parse_mode="HTML")
    assert sent.text == "Hello & bye"
    assert sent.entities[0].type == "bold"
    markup = keyboard(("Yes", "y"))
    await bot.edit_message_text("Hi", ALICE, sent.message_id, reply_markup=markup)
    message = fake.last_message(ALICE)
    assert (message.text, message.edits, message.buttons()) == ("Hi", 1, ["Yes"])
    assert message.button("Ye") == "y"
    with pytest.raises(BadRequest, match=r"(?i)Message is not modified: specified new message"):
        await bot.edit_message_text("Hi", ALICE, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)Message to edit not found"):
        await bot.edit_message_text("Hi", ALICE, 999)
    assert fake.violations == []


async def test_text_limits_and_bad_html(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)Message is too long"):
        await bot.send_message(ALICE, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)Message text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)Can\'t parse entities: Unsupported start tag "br"'):
        await bot.send_message(ALICE, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Can't parse entities: Can't find end tag"):
        await bot.send_message(ALICE, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Character '.' is reserved"):
        await bot.send_message(ALICE, "Done.", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)Message caption is too long"):
        await bot.send_document(ALICE, b"data", filename="a.txt", caption="c" * 1025)
    assert len(fake.violations) == 6
    assert fake.chat_messages(ALICE) == []


async def test_callback_data_over_64_bytes_is_refused(fake: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(ALICE, "ok", reply_markup=keyboard(("A", "a" * 64)))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE, "multibyte", reply_markup=keyboard(("B", "ä" * 33)))
    assert len(fake.violations) == 1
    assert "BUTTON_DATA_INVALID" in fake.violations[0]


async def test_forbidden_and_unknown_chats(fake: FakeBotApi, bot: Bot) -> None:
    fake.add_user(BOB, "Bob", started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(BOB, "hi")
    fake.block(ALICE)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message(777, "hi")
    fake.send_text(BOB, "/start")  # writing to the bot starts it
    await bot.send_message(BOB, "welcome")
    assert fake.violations == []


async def test_get_updates_offset_and_long_poll_wakeup(fake: FakeBotApi, bot: Bot) -> None:
    first = fake.send_text(ALICE, "/start")
    second = fake.send_text(ALICE, "hello")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert msg(updates[0]).entities[0].type == "bot_command"
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(offset=second["update_id"] + 1, timeout=30))
    await fake.wait_for_polling()  # the long poll is waiting now
    third = fake.send_text(ALICE, "wake up")
    woken = await asyncio.wait_for(poll, timeout=5)
    assert [u.update_id for u in woken] == [third["update_id"]]
    fake.redeliver(third)
    again = await bot.get_updates(offset=third["update_id"] + 1, timeout=0)
    assert [u.update_id for u in again] == [third["update_id"]]
    await bot.get_updates(offset=third["update_id"] + 1, timeout=0)
    await fake.wait_for_updates_consumed(timeout=1)


async def test_user_files_download_and_size_limit(fake: FakeBotApi, bot: Bot) -> None:
    payload = b"%PDF-1.7\r\n\x00\xff binary"
    fake.send_document(ALICE, payload, "scan.pdf", "application/pdf", caption="my scan")
    fake.send_photo(ALICE, PNG)
    fake.send_document(ALICE, b"", "huge.zip", "application/zip", declared_size=21 * 2**20)
    doc_update, photo_update, huge_update = await bot.get_updates(timeout=0)
    document = doc(msg(doc_update))
    assert (document.file_name, document.file_size) == ("scan.pdf", len(payload))
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload
    sizes = msg(photo_update).photo
    assert len(sizes) == 3
    largest = await bot.get_file(sizes[-1].file_id)
    assert bytes(await largest.download_as_bytearray()) == PNG
    with pytest.raises(BadRequest, match=r"(?i)File is too big"):
        await bot.get_file(doc(msg(huge_update)).file_id)


async def test_bot_uploads_and_media_group(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_document(ALICE, b"report", filename="r.txt", protect_content=True)
    assert sent.has_protected_content
    file = await bot.get_file(doc(sent).file_id)
    assert bytes(await file.download_as_bytearray()) == b"report"
    album = await bot.send_media_group(
        ALICE,
        [
            InputMediaDocument(b"one", filename="1.txt"),
            InputMediaDocument(doc(sent).file_id, caption="reused"),
        ],
    )
    assert [doc(m).file_name for m in album] == ["1.txt", "r.txt"]
    assert len({m.media_group_id for m in album}) == 1
    with pytest.raises(BadRequest, match=r"(?i)can't be mixed"):
        await bot.send_media_group(
            ALICE, [InputMediaDocument(b"one", filename="1.txt"), InputMediaPhoto(PNG)]
        )
    with pytest.raises(BadRequest, match=r"(?i)2-10 items"):
        await bot.send_media_group(ALICE, [InputMediaDocument(b"one", filename="1.txt")])
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(ALICE, b"not an image")
    assert len(fake.violations) == 3


async def test_callback_queries_and_deletion(fake: FakeBotApi, bot: Bot) -> None:
    question = await bot.send_message(ALICE, "Sure?", reply_markup=keyboard(("Yes", "yes")))
    fake_message = fake.last_message(ALICE)
    update = fake.press_button(ALICE, fake_message, fake_message.button("Yes"))
    query_id = update["callback_query"]["id"]
    await bot.answer_callback_query(query_id, text="Done")
    assert fake.callback_answers[query_id]["text"] == "Done"
    with pytest.raises(BadRequest, match=r"(?i)Query is too old"):
        await bot.answer_callback_query(query_id)
    password = fake.send_text(ALICE, "s3cret")["message"]["message_id"]
    assert await bot.delete_message(ALICE, password)
    assert (ALICE, password) in fake.deleted_user_messages
    with pytest.raises(BadRequest, match=r"(?i)Message to delete not found"):
        await bot.delete_message(ALICE, password)
    await bot.delete_message(ALICE, question.message_id)
    assert fake.chat_messages(ALICE)[0].deleted


async def test_reply_parameters_and_retry_after(
    fake: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_message = fake.send_text(ALICE, "question")["message"]["message_id"]
    reply = await bot.send_message(
        ALICE, "answer", reply_parameters=ReplyParameters(message_id=user_message)
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "question"
    with pytest.raises(BadRequest, match=r"(?i)Message to be replied not found"):
        await bot.send_message(ALICE, "x", reply_parameters=ReplyParameters(message_id=999))
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else PTB warns when it builds RetryAfter
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ALICE, "later")
    assert caught.value.retry_after == timedelta(seconds=3)
    await bot.send_message(ALICE, "now")


async def test_raw_requests_are_checked_against_the_spec(fake: FakeBotApi) -> None:
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{TOKEN}/") as client:
        unknown = await client.post("sendMessage", data={"chat_id": ALICE, "text": "x", "foo": 1})
        assert unknown.status_code == 400
        assert unknown.json()["description"].startswith('Bad Request: unknown parameter "foo"')
        wrong = await client.post(
            "sendMessage", json={"chat_id": ALICE, "text": "x", "protect_content": "yes"}
        )
        assert wrong.json()["error_code"] == 400
        markup = '{"inline_keyboard": [[{"text": "a", "callback_data": "b", "colour": "red"}]]}'
        nested = await client.post(
            "sendMessage", data={"chat_id": ALICE, "text": "x", "reply_markup": markup}
        )
        assert "colour" in nested.json()["description"]
        missing = await client.post("sendMessage", data={"chat_id": ALICE})
        assert missing.json()["description"] == 'Bad Request: parameter "text" is required'
        method = await client.post("sendMesage", data={"chat_id": ALICE, "text": "x"})
        assert method.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        unsupported = await client.post(
            "sendPoll",
            data={"chat_id": ALICE, "question": "q", "options": '[{"text": "a"}, {"text": "b"}]'},
        )
        assert "not supported by the fake" in unsupported.json()["description"]
    async with httpx.AsyncClient() as client:
        unauthorized = await client.post(f"{fake.base_url}999:XYZ/getMe")
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert len(fake.violations) == 6
    assert 'unknown parameter "foo"' in fake.violations[0]


async def test_application_round_trip(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "Pick one", reply_markup=keyboard(("Red", "c:red"))
        )

    async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"You chose {query.data}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(chosen))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        mark = len(fake.calls)
        fake.send_text(ALICE, "/start")
        await fake.wait_for_updates_consumed()
        await fake.wait_for_call("sendMessage", since=mark)
        menu = fake.last_message(ALICE)
        fake.press_button(ALICE, menu, menu.button("Red"))
        await fake.wait_for_call("editMessageText", since=mark)
        await app.updater.stop()
        await app.stop()
    assert fake.last_message(ALICE).text == "You chose c:red"
    assert fake.last_message(ALICE).buttons() == []
    assert fake.unanswered_callback_queries() == []
    fake.assert_no_violations()
