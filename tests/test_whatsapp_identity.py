"""Who a WhatsApp sender is, read from the webhook: their number in E.164 (the verified
phone), and the system messages that move them to a new chat."""

from __future__ import annotations

from typing import Any

from chatbot.channels.whatsapp.parse import moved_to, split_body, to_incoming
from tests import whatsapp_payloads as wa

BUDI = "6281234567001"
NEW = "6281299998888"


def raw_of(message: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
    [raw] = split_body(wa.body(wa.value([message], contacts=[contact])))
    return raw


def test_the_senders_number_is_their_phone_in_e164() -> None:
    incoming = to_incoming(raw_of(wa.text(wa.wamid(1), BUDI, "halo"), wa.contact(BUDI, "Budi")))
    assert incoming is not None and incoming.sender_phone == f"+{BUDI}"


def test_a_sender_known_by_user_id_only_has_no_phone() -> None:
    message = wa.text(wa.wamid(1), None, "halo")
    message["from_user_id"] = wa.BSUID
    incoming = to_incoming(raw_of(message, wa.contact(None, "Budi", wa.BSUID)))
    assert incoming is not None and incoming.chat_id == wa.BSUID
    assert incoming.sender_phone is None


def test_a_changed_number_moves_the_chat_to_the_new_number() -> None:
    raw = raw_of(wa.changed_number(wa.wamid(1), BUDI, NEW), wa.contact(BUDI, "Budi"))
    assert moved_to(raw) == (BUDI, NEW)


def test_a_changed_user_id_moves_only_a_chat_keyed_by_the_user_id() -> None:
    by_number = raw_of(
        wa.changed_user_id(wa.wamid(1), BUDI, "US.2"), wa.contact(BUDI, "Budi", wa.BSUID)
    )
    assert moved_to(by_number) is None  # the chat is the number: unchanged
    message = wa.changed_user_id(wa.wamid(2), BUDI, "US.2")
    del message["from"]
    message["from_user_id"] = wa.BSUID
    by_user_id = raw_of(message, wa.contact(None, "Budi", wa.BSUID))
    assert moved_to(by_user_id) == (wa.BSUID, "US.2")


def test_other_messages_move_nobody() -> None:
    assert moved_to(raw_of(wa.text(wa.wamid(1), BUDI, "halo"), wa.contact(BUDI, "Budi"))) is None
    assert moved_to(raw_of(wa.unsupported(wa.wamid(2), BUDI), wa.contact(BUDI, "Budi"))) is None
