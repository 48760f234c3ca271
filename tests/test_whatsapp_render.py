"""Our Reply as WhatsApp messages: every shape becomes messages Meta accepts (checked by the
fake Graph API's strict limits), HTML becomes WhatsApp's markup, and every requester prompt
of the intake and the menus stays within the limits, however long its labels."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.channels.whatsapp.render import (
    BUTTON_TITLE_MAX,
    CTA_TEXT_MAX,
    ELLIPSIS,
    LIST_ROWS_MAX,
    ROW_DESCRIPTION_MAX,
    ROW_TITLE_MAX,
    SHARE_CONTACT_HINT,
    Outgoing,
    markup,
    render,
)
from chatbot.conversations import intake, requester
from chatbot.conversations import texts as t
from chatbot.conversations.messages import Button, Keyboard, Reply
from chatbot.conversations.state import DialogState
from tests.fakes import graph_api_limits as limits
from tests.fakes.graph_api_models import GraphError

TO = "6281234567001"


def checked(reply: Reply) -> list[Outgoing]:
    """The reply rendered, each message passed through the fake's strict checks."""
    messages = render(reply)
    assert messages, reply
    for message in messages:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "to": TO,
            "type": message.kind,
            message.kind: message.payload,
        }
        try:
            _, kind, payload = limits.check_envelope(body)
            if kind == "text":
                limits.check_text(payload)
            else:
                limits.check_interactive(payload)
        except GraphError as refused:
            raise AssertionError(f"{refused} in {message}") from None
    return messages


def one(reply: Reply) -> Outgoing:
    messages = checked(reply)
    assert len(messages) == 1, messages
    return messages[0]


def choice(label: str, data: str | None = None) -> Button:
    return Button(label, data or f"x:{label[:20]}")


# ---- HTML -> WhatsApp markup ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<b>Tiket</b> 2611-0042", "*Tiket* 2611-0042"),
        ("Ketik <i>Lewati</i>", "Ketik _Lewati_"),
        ("NIP: <code>19850312 201001 1 004</code>", "NIP: `19850312 201001 1 004`"),
        ("<code>a\nb</code>", "```a\nb```"),
        ("<b>Tiket </b>baru", "*Tiket* baru"),  # markers hug the words
        ("<b>satu\ndua</b>", "*satu*\n*dua*"),  # and stay within a line
        ("<b><code>x</code></b>", "*`x`*"),
        ("Tom &amp; Jerry &lt;3 &quot;ok&quot;", 'Tom & Jerry <3 "ok"'),
        ('<a href="tg://user?id=1">Sari</a> menangani', "Sari menangani"),
        ("tanpa tag", "tanpa tag"),
    ],
)
def test_html_becomes_whatsapp_markup(html: str, expected: str) -> None:
    assert markup(html) == expected


# ---- every Reply shape -> in-bounds messages -----------------------------------------------


def test_a_plain_text_is_one_text_message_without_a_preview() -> None:
    message = one(Reply("Halo <b>Budi</b>", protect=True, force_reply=True))
    assert message.kind == "text"
    assert message.payload == {"body": "Halo *Budi*", "preview_url": False}


def test_up_to_three_short_buttons_are_reply_buttons() -> None:
    reply = Reply("Pilih", buttons=((choice("PPK", "r:ppk"), choice("Pokja", "r:pokja")),))
    message = one(reply)
    assert message.payload["type"] == "button"
    assert message.payload["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "r:ppk", "title": "PPK"}},
        {"type": "reply", "reply": {"id": "r:pokja", "title": "Pokja"}},
    ]


def test_four_buttons_are_a_list() -> None:
    labels = ["Satu", "Dua", "Tiga", "Empat"]
    message = one(Reply("Pilih", buttons=tuple((choice(label),) for label in labels)))
    assert message.payload["type"] == "list"
    rows = message.payload["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == labels


def test_a_label_over_twenty_characters_makes_a_list_with_the_whole_label_described() -> None:
    long = "Reset password + informasi user ID"  # 34 characters
    message = one(Reply("Apa yang Anda perlukan?", buttons=((choice(long),), (choice("Lain"),))))
    assert message.payload["type"] == "list"
    row = message.payload["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) == ROW_TITLE_MAX and row["title"].endswith(ELLIPSIS)
    assert row["description"] == long


def test_a_label_over_the_description_limit_is_cut_there_too() -> None:
    label = "x" * 100
    row = one(Reply("?", buttons=((choice(label),),))).payload["action"]["sections"][0]["rows"][0]
    assert len(row["description"]) == ROW_DESCRIPTION_MAX and row["description"].endswith(ELLIPSIS)


def test_more_than_ten_buttons_are_several_lists() -> None:
    buttons = tuple((choice(f"Pilihan {n}"),) for n in range(13))
    messages = checked(Reply("Pilih", buttons=buttons))
    assert [len(m.payload["action"]["sections"][0]["rows"]) for m in messages] == [
        LIST_ROWS_MAX,
        3,
    ]


def test_duplicate_labels_are_a_list_not_reply_buttons() -> None:
    message = one(Reply("?", buttons=((choice("Sama", "a"), choice("Sama", "b")),)))
    assert message.payload["type"] == "list"


def test_a_url_button_is_a_cta_url_message_and_the_url_leaves_the_text() -> None:
    url = "https://bot.example.go.id/s/abc#key"
    reply = Reply(
        f"Hasil siap:\n{url}\n\nSegera login.", buttons=((Button(t.OPEN_RESULT, url=url),),)
    )
    message = one(reply)
    assert message.payload["type"] == "cta_url"
    assert message.payload["action"]["parameters"] == {"display_text": t.OPEN_RESULT, "url": url}
    assert url not in message.payload["body"]["text"]
    assert "Segera login." in message.payload["body"]["text"]


def test_a_long_cta_label_is_shortened() -> None:
    url = "https://bot.example.go.id/f/abc"
    message = one(
        Reply("Isi formulir", buttons=((Button("🔐 Isi formulir hasil sekarang", url=url),),))
    )
    display = message.payload["action"]["parameters"]["display_text"]
    assert len(display) <= CTA_TEXT_MAX and display.endswith(ELLIPSIS)


def test_the_one_time_link_in_a_text_goes_onto_a_button() -> None:
    url = "https://bot.example.go.id/s/AbC-123_x#K3y_value-1"
    message = one(Reply(t.result_link("2611-0042", url, "Senin 14.00"), protect=True))
    assert message.payload["type"] == "cta_url"
    assert message.payload["action"]["parameters"] == {"display_text": t.OPEN_RESULT, "url": url}
    assert "https://" not in message.payload["body"]["text"]
    assert "*satu kali*" in message.payload["body"]["text"]


def test_a_url_button_with_choices_is_a_link_then_the_choices() -> None:
    url = "https://bot.example.go.id/f/abc"
    reply = Reply("Isi", buttons=((Button("Buka", url=url),), (choice("Batal"),)))
    messages = checked(reply)
    assert [m.payload["type"] for m in messages] == ["cta_url", "button"]


def test_share_contact_is_whatsapps_contact_request_button() -> None:
    message = one(Reply(t.ASK_PHONE_WHATSAPP, keyboard=Keyboard.SHARE_CONTACT))
    assert message.kind == "interactive"
    assert message.payload["type"] == "request_contact_info"
    assert message.payload["action"] == {"name": "request_contact_info"}
    assert "*nomor HP*" in message.payload["body"]["text"]


def test_a_contact_request_too_long_for_its_body_goes_ahead_as_text() -> None:
    messages = checked(Reply("x" * 1500, keyboard=Keyboard.SHARE_CONTACT))
    assert [m.kind for m in messages] == ["text", "interactive"]
    assert messages[1].payload["type"] == "request_contact_info"


def test_a_contact_request_with_buttons_asks_to_type_the_number() -> None:
    message = one(Reply("Nomor?", buttons=((choice("Lewati"),),), keyboard=Keyboard.SHARE_CONTACT))
    assert message.payload["type"] == "button"
    assert SHARE_CONTACT_HINT in message.payload["body"]["text"]


def test_remove_keyboard_and_an_edit_are_plain_messages() -> None:
    assert one(Reply("ok", keyboard=Keyboard.REMOVE)).payload["body"] == "ok"
    assert one(Reply("baru", edit_message_id="wamid.x")).payload["body"] == "baru"


def test_a_body_too_long_for_buttons_goes_first_as_text() -> None:
    text = "\n".join(f"Baris {n}: " + "data " * 10 for n in range(40))  # > 1024
    messages = checked(Reply(text, buttons=((choice("Kirim"),),)))
    assert [m.kind for m in messages] == ["text", "interactive"]
    assert messages[0].payload["body"] == markup(text).strip()


def test_a_text_over_4096_characters_is_split_at_lines() -> None:
    text = "\n".join("kalimat " * 12 for _ in range(60))  # about 5,800 characters
    messages = checked(Reply(text))
    assert len(messages) == 2 and all(m.kind == "text" for m in messages)
    assert " ".join(m.payload["body"] for m in messages).split() == text.split()


# ---- every requester prompt ----------------------------------------------------------------


def _draft() -> dict[str, Any]:
    return {
        "order": list(intake.INTAKE),
        "pages": {"letter": [{}], "sk": [{}, {}]},
        "type": "reset_password",
        "role": "ppk",
        "name": "Budi Santoso",
        "nip": "198503122010011004",
        "unit": "Dinas Pekerjaan Umum",
        "spse_id": None,
        "email": "budi@magelangkota.go.id",
        "phone": "+6281234567890",
        "phone_verified": True,
        "number": "2611-0042",
    }


def requester_prompts() -> list[tuple[str, Reply]]:
    """Every question of the intake (both flows) and the requester's menus."""
    prompts = [("menu", requester._menu()), ("resume", requester._continue_or_restart())]
    for flow in ("intake", "supplement"):
        for row in intake.STEPS:
            data = _draft()
            if row.name in ("letter", "sk"):
                data["pages"] = {}
            state = DialogState(flow=flow, step=row.name, data=data)
            prompts.append((f"{flow}:{row.name}", intake.prompt(state)))
            if row.name in ("letter", "sk"):
                state.data = _draft()
                prompts.append((f"{flow}:{row.name}:more", intake.prompt(state)))
    return prompts


@pytest.mark.parametrize(("name", "reply"), requester_prompts(), ids=lambda p: str(p)[:30])
def test_every_requester_prompt_renders_within_metas_limits(name: str, reply: Reply) -> None:
    messages = checked(reply)
    labels = [b.label for row in reply.buttons for b in row if b.data]
    shown = []
    for message in messages:
        if message.kind != "interactive":
            continue
        action = message.payload["action"]
        shown += [b["reply"]["title"] for b in action.get("buttons", [])]
        shown += [r["title"] for s in action.get("sections", []) for r in s["rows"]]
    assert len(shown) == len(labels), name
    for label, title in zip(labels, shown, strict=True):
        assert title == label or (title.endswith(ELLIPSIS) and label.startswith(title[:-1]))


def test_the_long_labels_named_in_the_issue_fit() -> None:
    """The labels the issue lists as too long for a reply button still render in bounds."""
    for label in ("Reset password + informasi user ID", "PP (Pejabat Pengadaan)", t.CONFIRM_LOGIN):
        reply = Reply("?", buttons=((choice(label),), (choice("Lain"),)))
        message = one(reply)
        assert len(label) <= BUTTON_TITLE_MAX or message.payload["type"] == "list"
