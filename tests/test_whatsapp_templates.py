"""WhatsApp templates for a closed 24-hour window: the settings that map notice kinds to
approved templates, the messenger's template send, and a status read as a receipt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatbot.channels.pacing import Pacer
from chatbot.channels.whatsapp.adapter import receipt_of
from chatbot.channels.whatsapp.messenger import WhatsAppMessenger, whatsapp_client
from chatbot.conversations.messages import DeliveryError, TemplateNotice, WindowedMessenger
from chatbot.settings import SettingsError, load_settings
from chatbot.store import Store
from tests.e2e.harness import UNPACED
from tests.fakes.graph_api import FakeGraphApi

BUDI = "6281234567001"


def settings(**values: Any) -> Any:
    return load_settings(_env_file=None, telegram_bot_token=None, **values)


def test_templates_are_read_as_notice_kind_to_name() -> None:
    configured = settings(
        whatsapp_templates=" incomplete=tiket_perlu_dilengkapi, rejected=permohonan_ditolak ,"
    )
    assert configured.whatsapp_template_names == {
        "incomplete": "tiket_perlu_dilengkapi",
        "rejected": "permohonan_ditolak",
    }
    assert configured.whatsapp_template_language == "id"
    assert settings().whatsapp_template_names == {}


@pytest.mark.parametrize(
    "changes",
    [
        {"whatsapp_templates": "ditolak=permohonan_ditolak"},  # not a notice kind
        {"whatsapp_templates": "rejected=Permohonan Ditolak"},  # not a template name
        {"whatsapp_template_language": "Bahasa"},
    ],
)
def test_a_wrong_template_setting_is_refused_naming_it(changes: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="WHATSAPP_TEMPLATE"):
        settings(**changes)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(api_version="v23.0") as graph:
        graph.add_user(BUDI, "Budi")
        graph.add_template("permohonan_ditolak", "Tiket {{1}} ditolak. Buka chat ini.")
        graph.add_template(
            "hasil_siap",
            "Hasil tiket {{1}} siap, berlaku sampai {{2}}.",
            quick_replies=("Siap menerima",),
        )
        yield graph
        graph.assert_no_violations()


@pytest.fixture
async def messenger(graph: FakeGraphApi, store: Store) -> AsyncIterator[WhatsAppMessenger]:
    client = whatsapp_client(
        phone_id=graph.metadata.phone_number_id,
        token=graph.token,
        api_version="v23.0",
        transport=graph.transport(),
    )
    messenger = WhatsAppMessenger(
        client,
        Pacer(store, "whatsapp", UNPACED),
        max_download=2**20,
        templates={"rejected": "permohonan_ditolak", "result_ready": "hasil_siap"},
    )
    yield messenger
    await messenger.close()


async def test_a_template_goes_outside_the_window_with_the_ticket_number(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    assert isinstance(messenger.deferring(), WindowedMessenger)
    wamid = await messenger.send_template(BUDI, TemplateNotice("rejected", "2026-0001"))
    sent = graph.message(wamid)
    assert sent.type == "template" and sent.payload["name"] == "permohonan_ditolak"
    assert sent.payload["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "2026-0001"}]}
    ]


async def test_further_parameters_and_quick_reply_payloads_go_in_order(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    notice = TemplateNotice(
        "result_ready", "2026-0001", parameters=("Jumat",), quick_replies=("ready:7",)
    )
    sent = graph.message(await messenger.send_template(BUDI, notice))
    body, button = sent.payload["components"]
    assert [p["text"] for p in body["parameters"]] == ["2026-0001", "Jumat"]
    assert button["sub_type"] == "quick_reply" and button["index"] == "0"
    assert button["parameters"] == [{"type": "payload", "payload": "ready:7"}]


async def test_a_kind_without_a_template_is_no_template_and_nothing_sent(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    with pytest.raises(DeliveryError) as refused:
        await messenger.send_template(BUDI, TemplateNotice("incomplete", "2026-0001"))
    assert refused.value.kind == "no_template" and not refused.value.permanent
    assert graph.sent == []


def test_a_failed_status_is_a_receipt_with_its_code() -> None:
    raw = {
        "update": "status",
        "status": {
            "id": "wamid.X",
            "status": "failed",
            "timestamp": "1700000000",
            "errors": [{"code": 131047, "title": "Re-engagement message"}],
        },
    }
    receipt = receipt_of(raw)
    assert receipt is not None
    assert (receipt.message_id, receipt.status, receipt.error_code) == ("wamid.X", "failed", 131047)
    assert receipt.at.year == 2023
    assert receipt_of({"update": "status", "status": {"id": 1}}) is None
