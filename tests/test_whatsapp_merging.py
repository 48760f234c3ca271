"""Consecutive replies of one answer merged into one WhatsApp message, within Meta's limits."""

from __future__ import annotations

from chatbot.channels.whatsapp.render import (
    INTERACTIVE_BODY_MAX,
    TEXT_MAX,
    merged,
    render,
)
from chatbot.conversations.messages import Button, Keyboard, Reply
from chatbot.pipeline.handling import merge_replies

CHOICE = ((Button("Ya", "d|x|yes"),),)


def test_a_text_goes_above_the_next_replys_buttons() -> None:
    joined = merged(Reply("⚠️ <b>Salah</b>"), Reply("Pilih:", buttons=CHOICE))
    assert joined is not None
    [message] = render(joined)
    assert message.payload["body"]["text"] == "⚠️ *Salah*\n\nPilih:"
    assert message.payload["action"]["buttons"][0]["reply"]["title"] == "Ya"


def test_never_past_the_body_limit_of_buttons_or_of_text() -> None:
    half = "a" * (INTERACTIVE_BODY_MAX // 2)
    assert merged(Reply(half), Reply(half, buttons=CHOICE)) is None  # 1026 > 1024
    assert merged(Reply(half[:-2]), Reply(half, buttons=CHOICE)) is not None  # 1024
    long = "b" * (TEXT_MAX // 2)
    assert merged(Reply(long), Reply(long)) is None
    assert merged(Reply(long[:-2]), Reply(long)) is not None  # 4096


def test_buttons_a_contact_request_or_a_link_stay_their_own_message() -> None:
    later = Reply("Lanjut")
    assert merged(Reply("Pilih", buttons=CHOICE), later) is None
    assert merged(Reply("Nomor HP?", keyboard=Keyboard.SHARE_CONTACT), later) is None
    assert merged(Reply("Link: https://x.example/s/abc#k"), later) is None


def test_only_consecutive_replies_to_one_chat_are_folded() -> None:
    def join(a: Reply, b: Reply) -> Reply | None:
        return None if b.buttons else Reply(f"{a.text}+{b.text}")

    replies = [
        ("1", Reply("a")),
        ("1", Reply("b")),
        ("2", Reply("c")),
        ("1", Reply("d")),
        ("1", Reply("e", buttons=CHOICE)),
    ]
    assert [(chat, r.text) for chat, r in merge_replies(replies, join)] == [
        ("1", "a+b"),
        ("2", "c"),
        ("1", "d"),
        ("1", "e"),
    ]
