"""Our reader of the Cloud API webhook: a batched body becomes one raw update per message and
per status, every documented message type becomes the right Incoming, variants pywa trips on
(no `user_id`, a status without `contacts`, a BSUID-only sender) are read, and malformed
bodies are refused with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.channels.whatsapp import WhatsAppChannel
from chatbot.channels.whatsapp.parse import MalformedBody, split_body, to_incoming
from chatbot.conversations.messages import IncomingFile, SharedContact
from chatbot.db.models import InboxUpdate
from chatbot.services.inbox import key_limit
from tests import whatsapp_payloads as wa

BUDI = "6281234567001"
RINA = "6281234567002"


def only(body: dict[str, Any]) -> dict[str, Any]:
    raws = split_body(body)
    assert len(raws) == 1, raws
    return raws[0]


def incoming_of(message: dict[str, Any], *contacts: dict[str, Any]) -> Any:
    raw = only(wa.body(wa.value([message], contacts=list(contacts) or [wa.contact(BUDI, "Budi")])))
    return to_incoming(raw)


# ---- splitting -----------------------------------------------------------------------------


def test_a_batched_body_gives_one_update_per_message_and_status_in_order() -> None:
    body = wa.body(
        wa.value(
            [wa.text(wa.wamid(1), BUDI, "halo"), wa.text(wa.wamid(2), RINA, "/start")],
            contacts=[wa.contact(RINA, "Rina"), wa.contact(BUDI, "Budi Santoso")],
        ),
        wa.value(statuses=[wa.status(wa.wamid(3), "delivered", BUDI)]),
    )
    raws = split_body(body)
    assert [r["id"] for r in raws] == [wa.wamid(1), wa.wamid(2), f"{wa.wamid(3)}:delivered"]
    assert [r["update"] for r in raws] == ["message", "message", "status"]
    # Each message is matched to its own sender's contact entry, not the first one.
    assert [(r["wa_id"], r["name"]) for r in raws[:2]] == [(BUDI, "Budi Santoso"), (RINA, "Rina")]
    assert {r["phone_number_id"] for r in raws} == {wa.PHONE_NUMBER_ID}
    assert raws[2]["recipient"] == BUDI and raws[2]["status"]["status"] == "delivered"


def test_several_entries_and_changes_are_all_read() -> None:
    first = wa.body(wa.value([wa.text(wa.wamid(1), BUDI, "a")], contacts=[wa.contact(BUDI, "B")]))
    second = wa.body(wa.value([wa.text(wa.wamid(2), RINA, "b")], contacts=[wa.contact(RINA, "R")]))
    body = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"]}
    assert [r["id"] for r in split_body(body)] == [wa.wamid(1), wa.wamid(2)]


def test_the_updates_are_json_data_that_keep_the_message() -> None:
    import json

    message = wa.text(wa.wamid(1), BUDI, "halo")
    raw = only(wa.body(wa.value([message], contacts=[wa.contact(BUDI, "Budi")])))
    assert json.loads(json.dumps(raw)) == raw
    assert raw["message"] == message


def test_a_status_without_contacts_is_read() -> None:
    raw = only(wa.body(wa.value(statuses=[wa.failed(wa.DOC_WAMID, BUDI)])))
    assert raw["id"] == f"{wa.DOC_WAMID}:failed"
    assert raw["recipient"] == BUDI
    assert raw["status"]["errors"][0]["code"] == 131047
    assert to_incoming(raw) is None


def test_a_status_to_a_bsuid_names_its_recipient_user_id() -> None:
    sent = wa.status(wa.wamid(4), "read", None, recipient_user_id=wa.BSUID)
    assert only(wa.body(wa.value(statuses=[sent])))["recipient"] == wa.BSUID


def test_a_message_without_user_id_is_read() -> None:
    raw = only(wa.body(wa.value([wa.text(wa.wamid(1), BUDI, "halo")], [], [wa.contact(BUDI, "B")])))
    assert (raw["wa_id"], raw["user_id"]) == (BUDI, None)
    incoming = to_incoming(raw)
    assert incoming is not None and incoming.chat_id == incoming.user_id == BUDI


def test_a_message_with_both_ids_keeps_both_and_chats_by_number() -> None:
    message = wa.text(wa.wamid(1), BUDI, "halo", from_user_id=wa.BSUID)
    raw = only(wa.body(wa.value([message], contacts=[wa.contact(BUDI, "Budi", wa.BSUID)])))
    assert (raw["wa_id"], raw["user_id"]) == (BUDI, wa.BSUID)
    incoming = to_incoming(raw)
    assert incoming is not None and incoming.chat_id == BUDI


def test_a_bsuid_only_sender_chats_by_the_user_id() -> None:
    """A username user may come without a number: `from` and `wa_id` are left out."""
    message = wa.text(wa.wamid(1), None, "halo", from_user_id=wa.BSUID)
    raw = only(wa.body(wa.value([message], contacts=[wa.contact(None, "Budi", wa.BSUID)])))
    assert (raw["wa_id"], raw["user_id"], raw["name"]) == (None, wa.BSUID, "Budi")
    incoming = to_incoming(raw)
    assert incoming is not None
    assert (incoming.chat_id, incoming.user_id, incoming.user_name) == (wa.BSUID, wa.BSUID, "Budi")


def test_a_bsuid_named_only_in_contacts_is_found() -> None:
    message = wa.text(wa.wamid(1), None, "halo")
    raw = only(wa.body(wa.value([message], contacts=[wa.contact(None, "Budi", wa.BSUID)])))
    assert raw["user_id"] == wa.BSUID


def test_other_fields_give_no_updates() -> None:
    template_update = {"event": "APPROVED", "message_template_name": "hasil_siap_dikirim"}
    assert split_body(wa.body(template_update, field="message_template_status_update")) == []
    assert split_body(wa.body(wa.value())) == []  # messages field with nothing in it


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([1, 2], "not a JSON object"),
        ({"object": "page", "entry": []}, "object is not"),
        ({"object": "whatsapp_business_account"}, "body.entry"),
        ({"object": "whatsapp_business_account", "entry": {}}, "body.entry"),
        ({"object": "whatsapp_business_account", "entry": ["x"]}, "entry[0]"),
        ({"object": "whatsapp_business_account", "entry": [{"id": "1"}]}, "entry[0].changes"),
        (wa.body("value"), "changes[0].value"),  # type: ignore[arg-type]
        (wa.body({**wa.value(), "messages": {}}), "messages is not a list"),
        (wa.body({"messages": [wa.text(wa.wamid(1), BUDI, "a")]}), "metadata"),
        (wa.body(wa.value(["text"])), "messages[0] is not an object"),
        (wa.body(wa.value([{"from": BUDI, "type": "text"}])), "messages[0].id"),
        (wa.body(wa.value([wa.text(wa.wamid(1), None, "a")])), "names no sender"),
        (wa.body(wa.value(statuses=[{"id": wa.wamid(1)}])), "statuses[0].status"),
        (wa.body(wa.value([wa.text(wa.wamid(1), BUDI, "a")], contacts=["c"])), "contacts[0]"),
    ],
)
def test_a_malformed_body_is_refused_with_a_reason(body: object, where: str) -> None:
    with pytest.raises(MalformedBody, match=None) as refused:
        split_body(body)
    assert where in str(refused.value)


# ---- message types -------------------------------------------------------------------------


def test_text() -> None:
    incoming = incoming_of(wa.text(wa.wamid(1), BUDI, "/start"))
    assert incoming.channel == "whatsapp" and incoming.update_id == wa.wamid(1)
    assert (incoming.text, incoming.command, incoming.message_id) == (
        "/start",
        "start",
        wa.wamid(1),
    )
    assert (incoming.user_name, incoming.in_group, incoming.sender_is_admin) == (
        "Budi",
        False,
        False,
    )
    assert incoming.actor_id == f"whatsapp:{BUDI}"


def test_a_text_quoting_one_of_our_messages() -> None:
    message = wa.text(
        wa.wamid(1), BUDI, "ini", context={"from": wa.DISPLAY_NUMBER, "id": wa.wamid(9)}
    )
    incoming = incoming_of(message)
    assert (incoming.reply_to_message_id, incoming.replied_to_bot) == (wa.wamid(9), True)


def test_reply_button_and_list_row_taps_carry_our_button_data() -> None:
    tapped = incoming_of(wa.button_reply(wa.wamid(1), BUDI, "r|menu|new", "Ajukan", wa.wamid(9)))
    assert (tapped.button, tapped.message_id, tapped.text) == ("r|menu|new", wa.wamid(9), None)
    row = incoming_of(wa.list_reply(wa.wamid(2), BUDI, "r|role|ppk", "PPK", wa.wamid(9)))
    assert (row.button, row.message_id) == ("r|role|ppk", wa.wamid(9))


def test_a_template_quick_reply_carries_its_payload() -> None:
    incoming = incoming_of(
        wa.quick_reply(wa.wamid(1), BUDI, "r|ready|42", "Siap menerima", wa.wamid(9))
    )
    assert (incoming.button, incoming.message_id) == ("r|ready|42", wa.wamid(9))


def test_a_document_and_an_image_are_files_by_media_id() -> None:
    doc = incoming_of(
        wa.document(wa.wamid(1), BUDI, "1566400990810493", "surat.pdf", "application/pdf")
    )
    assert doc.file == IncomingFile("1566400990810493", "surat.pdf", "application/pdf", None, False)
    photo = incoming_of(wa.image(wa.wamid(2), BUDI, "1003383421387256"))
    assert photo.file == IncomingFile("1003383421387256", None, "image/jpeg", None, True)


def test_a_contact_card_from_the_attachment_menu_names_its_own_whatsapp_id() -> None:
    someone = incoming_of(
        wa.shared_contacts(wa.wamid(1), BUDI, "+62 812-0000-1111", "6281200001111")
    )
    assert someone.contact == SharedContact("+62 812-0000-1111", "6281200001111")
    own = incoming_of(wa.shared_contacts(wa.wamid(2), BUDI, "+62 812-3456-7001", BUDI))
    assert own.contact is not None and own.contact.user_id == own.user_id  # the sender's number


def test_a_contact_request_answer_is_the_senders_own_number() -> None:
    answer = wa.shared_contacts(
        wa.wamid(1), None, "+62 812-3456-7001", None, origin="contact_request"
    )
    answer["from_user_id"] = wa.BSUID
    incoming = incoming_of(answer, wa.contact(None, "Budi", wa.BSUID))
    assert incoming.contact == SharedContact("+62 812-3456-7001", wa.BSUID)
    assert incoming.contact.user_id == incoming.user_id


def test_a_contact_card_without_a_phone_is_other() -> None:
    card = wa.shared_contacts(wa.wamid(1), BUDI, "x", None)
    card["contacts"][0]["phones"] = []
    assert incoming_of(card).other == "contacts"


@pytest.mark.parametrize(
    ("message", "other"),
    [
        (wa.changed_number(wa.wamid(1), BUDI, "6281299998888"), "user_changed_number"),
        (wa.changed_user_id(wa.wamid(2), BUDI, "US.99999999999999999"), "user_changed_user_id"),
        (wa.unsupported(wa.wamid(3), BUDI), "unsupported"),
        (wa.message(wa.wamid(4), BUDI, "sticker", {"id": "1", "animated": False}), "sticker"),
        (
            wa.message(wa.wamid(5), BUDI, "location", {"latitude": -7.47, "longitude": 110.21}),
            "location",
        ),
        (wa.message(wa.wamid(6), BUDI, "audio", {"id": "2", "voice": True}), "audio"),
        (wa.message(wa.wamid(7), BUDI, "interactive", {"type": "nfm_reply"}), "interactive"),
        (wa.message(wa.wamid(8), BUDI, "text", {"no": "body"}), "text"),
        (wa.message(wa.wamid(9), BUDI, "document", {"filename": "x.pdf"}), "document"),
        ({"id": wa.wamid(10), "from": BUDI}, "unknown"),
    ],
)
def test_system_messages_and_other_types_are_other_with_their_kind(
    message: dict[str, Any], other: str
) -> None:
    incoming = incoming_of(message)
    assert incoming is not None
    assert (incoming.other, incoming.text, incoming.button, incoming.file) == (
        other,
        None,
        None,
        None,
    )


def test_a_reaction_needs_no_answer() -> None:
    reaction = wa.message(wa.wamid(1), BUDI, "reaction", {"message_id": wa.wamid(9), "emoji": "👍"})
    assert incoming_of(reaction) is None


# ---- the adapter ---------------------------------------------------------------------------


def test_the_adapter_describes_messages_and_statuses() -> None:
    channel = WhatsAppChannel(wa.PHONE_NUMBER_ID)
    raws = split_body(
        wa.body(
            wa.value([wa.image(wa.wamid(1), BUDI, "7")], contacts=[wa.contact(BUDI, "B")]),
            wa.value(statuses=[wa.status(wa.wamid(2), "read", RINA)]),
        )
    )
    described = [channel.describe(raw) for raw in raws]
    assert [(d.update_id, d.chat_key, d.kind) for d in described] == [
        (wa.wamid(1), f"whatsapp:{BUDI}", "image"),
        (f"{wa.wamid(2)}:read", f"whatsapp:{RINA}", "status"),
    ]
    assert [channel.problem(raw) for raw in raws] == [None, None]
    assert channel.chat_of(f"whatsapp:{BUDI}") == BUDI
    assert channel.chat_of(f"whatsapp:{wa.BSUID}") == wa.BSUID


def test_a_status_without_a_recipient_has_a_lane_of_its_own() -> None:
    channel = WhatsAppChannel()
    raw = only(wa.body(wa.value(statuses=[wa.status(wa.wamid(2), "sent", None)])))
    lane = channel.describe(raw).chat_key
    assert lane == f"whatsapp:status-{wa.wamid(2)}:sent"
    assert channel.chat_of(lane) is None


async def test_the_adapter_ignores_statuses_reactions_and_other_numbers() -> None:
    channel = WhatsAppChannel(wa.PHONE_NUMBER_ID)
    status = only(wa.body(wa.value(statuses=[wa.status(wa.wamid(1), "read", BUDI)])))
    assert (await channel.interpret(status)).ignored
    elsewhere = only(
        wa.body(
            wa.value(
                [wa.text(wa.wamid(2), BUDI, "halo")],
                contacts=[wa.contact(BUDI, "B")],
                phone_number_id="999999999999999",
            )
        )
    )
    assert (await channel.interpret(elsewhere)).ignored
    assert not (await WhatsAppChannel().interpret(elsewhere)).ignored  # any number
    text = only(
        wa.body(wa.value([wa.text(wa.wamid(3), BUDI, "halo")], [], [wa.contact(BUDI, "B")]))
    )
    meaning = await channel.interpret(text)
    assert meaning.incoming is not None and meaning.incoming.text == "halo"


def test_the_adapter_knows_the_inbox_column_limits() -> None:
    assert key_limit("update_id") == InboxUpdate.__table__.c.update_id.type.length
    assert key_limit("chat_key") == InboxUpdate.__table__.c.chat_key.type.length


def test_real_keys_fit_the_inbox_and_longer_ones_are_a_problem() -> None:
    """Since migration 0009 (update_id 128, chat_key 200) a documented wamid, its status key,
    a 78-character wamid and the lane of a long BSUID all fit; anything longer is refused."""
    channel = WhatsAppChannel()
    for raw in (
        only(wa.body(wa.value([wa.text(wa.DOC_WAMID, BUDI, "a")], [], [wa.contact(BUDI, "B")]))),
        only(wa.body(wa.value(statuses=[wa.status(wa.DOC_WAMID, "delivered", BUDI)]))),
        only(wa.body(wa.value([wa.text(wa.LONG_WAMID, BUDI, "a")], [], [wa.contact(BUDI, "B")]))),
        only(wa.body(wa.value([wa.text(wa.wamid(1), None, "a", from_user_id="US." + "1" * 130)]))),
    ):
        assert channel.problem(raw) is None
    for raw in (
        only(wa.body(wa.value(statuses=[wa.status("wamid." + "X" * 130, "delivered", BUDI)]))),
        only(wa.body(wa.value([wa.text(wa.wamid(1), None, "a", from_user_id="US." + "1" * 200)]))),
    ):
        assert "the inbox holds" in (channel.problem(raw) or "")


def test_what_is_not_an_update_is_a_problem() -> None:
    channel = WhatsAppChannel()
    assert channel.problem({"update": "call", "id": "x"}) is not None
    assert channel.problem({"update": "message", "id": ""}) is not None
    assert channel.problem({"update": "message", "id": "w", "message": {}}) is not None
