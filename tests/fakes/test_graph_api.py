"""Behaviour of the strict fake WhatsApp Cloud API, driven by pywa_async and plain httpx.

pywa 4.5 hard-codes ``https://graph.facebook.com/v{api_version}`` as the ``base_url`` of the
httpx client it is given, so it is pointed at the fake with a transport rather than a base
URL: ``WhatsApp(phone_id, token, api_version="23.0",
session=httpx.AsyncClient(transport=fake.transport()))``.  The transport rewrites Meta's hosts
to the fake and refuses any other host.  pywa's loggers stay at WARNING: at DEBUG they log
whole request bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from pywa_async import WhatsApp
from pywa_async.errors import (
    ExpiredAccessToken,
    InvalidParameter,
    MessageUndeliverable,
    RateLimitHit,
    ReEngagementMessage,
    TemplateNotExists,
    TemplateParamCountMismatch,
    TooManyMessages,
    WhatsAppError,
)
from pywa_async.types import Button, Section, SectionList, SectionRow, URLButton
from pywa_async.types.templates import BodyText, QuickReplyButton, TemplateLanguage
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.graph_api_http import serve_locally
from tests.fakes.graph_api_webhooks import SIGNATURE_HEADER, sign

ALICE = "6281234567890"
BOB = "6289876543210"
PDF = b"%PDF-1.7\r\n\x00\xff binary\r\n--not-a-boundary\r\n"
VERSION = "v23.0"


class WebhookReceiver:
    """A bot-side webhook endpoint: checks the signature, keeps what arrived."""

    def __init__(self, app_secret: str) -> None:
        self.app_secret = app_secret
        self.bodies: list[bytes] = []
        self.rejected = 0
        self.verify_token = "verify-me"
        self._server: uvicorn.Server | None = None
        self.url = ""

    async def _hook(self, request: Request) -> Response:
        if request.method == "GET":
            params = request.query_params
            if params.get("hub.verify_token") != self.verify_token:
                return Response(status_code=403)
            return PlainTextResponse(params.get("hub.challenge", ""))
        raw = await request.body()
        expected = sign(raw, self.app_secret)
        if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), expected):
            self.rejected += 1
            return Response(status_code=403)
        self.bodies.append(raw)
        return Response(status_code=200)

    async def __aenter__(self) -> WebhookReceiver:
        app = Starlette(routes=[Route("/whatsapp/webhook", self._hook, methods=["GET", "POST"])])
        self._server, port = await serve_locally(app)
        self.url = f"http://127.0.0.1:{port}/whatsapp/webhook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.should_exit = True
        await self._server.shutdown()


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(api_version=VERSION) as server:
        yield server


@pytest.fixture
async def wa(fake: FakeGraphApi) -> AsyncIterator[WhatsApp]:
    for name in ("pywa", "pywa_async"):
        logging.getLogger(name).setLevel(logging.WARNING)
    async with httpx.AsyncClient(transport=fake.transport(), timeout=10) as session:
        yield WhatsApp(
            phone_id=fake.metadata.phone_number_id,
            token=fake.token,
            api_version="23.0",
            session=session,
        )


@pytest.fixture
async def http(fake: FakeGraphApi) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as client:
        yield client


async def post_message(fake: FakeGraphApi, http: httpx.AsyncClient, **body: object) -> JsonBody:
    """Send a raw message body with plain httpx; returns (status, JSON answer)."""
    url = f"/{VERSION}/{fake.metadata.phone_number_id}/messages"
    payload = {"messaging_product": "whatsapp", "to": ALICE, **body}
    response = await http.post(url, json=payload)
    return response.status_code, response.json()


JsonBody = tuple[int, dict[str, object]]


def error_code(answer: JsonBody) -> int:
    error = answer[1]["error"]
    assert isinstance(error, dict)
    return int(error["code"])


def buttons(*titles: str) -> dict[str, object]:
    replies = [
        {"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)
    ]
    return {"type": "button", "body": {"text": "Pilih"}, "action": {"buttons": replies}}


def rows(count: int, title: str = "Baris") -> dict[str, object]:
    items = [{"id": f"r{i}", "title": f"{title} {i}"[:24]} for i in range(count)]
    section = {"title": "Layanan", "rows": items}
    return {
        "type": "list",
        "body": {"text": "Pilih"},
        "action": {"button": "Menu", "sections": [section]},
    }


# ====================================================================== pywa against the fake


async def test_pywa_sends_text_buttons_list_and_cta(fake: FakeGraphApi, wa: WhatsApp) -> None:
    fake.text_message(ALICE, "halo")  # the user writes first: the window opens
    sent = await wa.send_message(ALICE, "*Halo* Bapak/Ibu")
    assert sent.id.startswith("wamid.")
    await wa.send_message(
        ALICE,
        "Pilih layanan",
        header="Layanan SPSE",
        footer="LPSE",
        buttons=[Button("Reset password", callback_data="reset"), Button("Batal", "cancel")],
        tracker="outbox:17",
    )
    await wa.send_message(
        ALICE,
        "Jenis pemohon",
        buttons=SectionList(
            button_title="Pilih",
            sections=[
                Section(
                    title="Pemohon",
                    rows=[
                        SectionRow(title="PPK", callback_data="ppk", description="Pejabat"),
                        SectionRow(title="PP", callback_data="pp"),
                    ],
                )
            ],
        ),
    )
    await wa.send_message(
        ALICE, "Hasil siap", buttons=URLButton(title="🔐 Buka hasil", url="https://x.id/r#k")
    )
    text, choice, listing, link = fake.sent_to(ALICE)
    assert (text.wamid, text.text, text.type) == (sent.id, "*Halo* Bapak/Ibu", "text")
    assert choice.buttons() == ["Reset password", "Batal"]
    assert (choice.button_id("Reset"), choice.tracker) == ("reset", "outbox:17")
    assert [r["id"] for r in listing.rows()] == ["ppk", "pp"]
    assert link.cta() == ("🔐 Buka hasil", "https://x.id/r#k")
    assert fake.last_sent(ALICE) is link
    assert [c.path for c in fake.calls_to("/messages")] == [
        f"/{VERSION}/{fake.metadata.phone_number_id}/messages"
    ] * 4
    fake.assert_no_violations()


async def test_pywa_templates_and_their_errors(fake: FakeGraphApi, wa: WhatsApp) -> None:
    fake.add_template(
        "tiket_ditolak",
        "Permohonan dengan nomor tiket {{1}} ditolak. Alasan: {{2}}.",
        quick_replies=("Ajukan baru",),
    )
    sent = await wa.send_template(
        BOB,  # never wrote: templates need no window
        name="tiket_ditolak",
        language=TemplateLanguage.INDONESIAN,
        params=[
            BodyText.params("T-0001", "SK tidak terbaca"),
            QuickReplyButton.params(callback_data="new:T-0001", index=0),
        ],
    )
    assert fake.message(sent.id).type == "template"
    with pytest.raises(TemplateNotExists):
        await wa.send_template(
            BOB, name="tidak_ada", language=TemplateLanguage.INDONESIAN, params=[]
        )
    with pytest.raises(TemplateParamCountMismatch):
        await wa.send_template(
            BOB,
            name="tiket_ditolak",
            language=TemplateLanguage.INDONESIAN,
            params=[BodyText.params("T-0001")],
        )
    with pytest.raises(WhatsAppError) as multi_line:
        await wa.send_template(
            BOB,
            name="tiket_ditolak",
            language=TemplateLanguage.INDONESIAN,
            params=[BodyText.params("T-0001", "baris\nbaru")],
        )
    assert multi_line.value.code == 132018
    assert len(fake.violations) == 3
    assert len(fake.sent_to(BOB)) == 1


async def test_pywa_uploads_sends_and_downloads_media(fake: FakeGraphApi, wa: WhatsApp) -> None:
    fake.text_message(ALICE, "halo")
    uploaded = await wa.upload_media(PDF, mime_type="application/pdf", filename="hasil.pdf")
    assert fake.media[uploaded.id].content == PDF
    await wa.send_document(ALICE, uploaded.id, filename="hasil.pdf", caption="Lembar kendali")
    assert fake.last_sent(ALICE).payload["id"] == uploaded.id

    incoming = fake.document_message(ALICE, PDF, "sk.pdf", "application/pdf")
    media_id = incoming.message["document"]["id"]
    info = await wa.get_media_url(media_id)
    assert (info.mime_type, info.file_size) == ("application/pdf", len(PDF))
    assert info.sha256 == hashlib.sha256(PDF).hexdigest()
    assert await wa.get_media_bytes(info.url) == PDF

    fake.advance(5 * 60 + 1)  # the URL lives five minutes
    with pytest.raises(httpx.HTTPStatusError) as expired:
        await wa.get_media_bytes(info.url)
    assert expired.value.response.status_code == 404
    fresh = await wa.get_media_url(media_id)  # a new URL works again
    assert await wa.get_media_bytes(fresh.url) == PDF
    fake.assert_no_violations()

    async with httpx.AsyncClient() as anonymous:  # the URL needs the bearer token
        assert (await anonymous.get(fresh.url)).status_code == 401
    assert len(fake.violations) == 1


async def test_pywa_read_receipt_and_typing(fake: FakeGraphApi, wa: WhatsApp) -> None:
    incoming = fake.text_message(ALICE, "status")
    await wa.mark_message_as_read(incoming.wamid)
    await wa.indicate_typing(incoming.wamid)
    assert fake.read_receipts == [(incoming.wamid, False), (incoming.wamid, True)]
    with pytest.raises(WhatsAppError):
        await wa.mark_message_as_read("wamid.unknown")
    assert len(fake.violations) == 1


async def test_pywa_is_kept_on_the_machine(fake: FakeGraphApi, wa: WhatsApp) -> None:
    with pytest.raises(httpx.ConnectError, match="stray call"):
        await wa.get_media_bytes("https://example.com/file.pdf")
    async with httpx.AsyncClient(transport=fake.transport()) as session:
        wrong = WhatsApp(phone_id="1", token="bad", api_version="23.0", session=session)
        with pytest.raises(ExpiredAccessToken):
            await wrong.send_message(ALICE, "hi")
    assert "(190)" in fake.violations[0]


# ====================================================================== limits


async def test_reply_button_limits(
    fake: FakeGraphApi, wa: WhatsApp, http: httpx.AsyncClient
) -> None:
    fake.text_message(ALICE, "halo")
    with pytest.raises(InvalidParameter):  # pywa does not check the length itself
        await wa.send_message(ALICE, "Pilih", buttons=[Button("x" * 21, callback_data="long")])
    four = await post_message(
        fake, http, type="interactive", interactive=buttons("A", "B", "C", "D")
    )
    same = await post_message(fake, http, type="interactive", interactive=buttons("A", "A"))
    header = {**buttons("A"), "header": {"type": "text", "text": "h" * 61}}
    long_header = await post_message(fake, http, type="interactive", interactive=header)
    body = {**buttons("A"), "body": {"text": "b" * 1025}}
    long_body = await post_message(fake, http, type="interactive", interactive=body)
    assert [error_code(a) for a in (four, same, long_header, long_body)] == [131009] * 4
    ok = await post_message(fake, http, type="interactive", interactive=buttons("A" * 20, "B"))
    assert ok[0] == 200
    assert len(fake.violations) == 5
    assert "Button title length invalid" in fake.violations[0]


async def test_list_cta_and_text_limits(fake: FakeGraphApi, http: httpx.AsyncClient) -> None:
    fake.text_message(ALICE, "halo")
    eleven = await post_message(fake, http, type="interactive", interactive=rows(11))
    assert error_code(eleven) == 131009
    assert (await post_message(fake, http, type="interactive", interactive=rows(10)))[0] == 200
    long_row = rows(1)
    long_row["action"]["sections"][0]["rows"][0]["title"] = "r" * 25  # type: ignore[index]
    described = rows(1)
    described["action"]["sections"][0]["rows"][0]["description"] = "d" * 73  # type: ignore[index]
    cta = {
        "type": "cta_url",
        "body": {"text": "Hasil"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Buka", "url": "javascript:x"},
        },
    }
    refused = [
        await post_message(fake, http, type="interactive", interactive=long_row),
        await post_message(fake, http, type="interactive", interactive=described),
        await post_message(fake, http, type="interactive", interactive=cta),
        await post_message(fake, http, type="text", text={"body": "t" * 4097}),
        await post_message(fake, http, type="sticker", sticker={"id": "1"}),
        await post_message(fake, http, type="document", document={"id": "404"}),
    ]
    assert all(status == 400 for status, _ in refused)
    assert (await post_message(fake, http, type="text", text={"body": "t" * 4096}))[0] == 200
    assert len(fake.violations) == 7
    with pytest.raises(AssertionError, match="invalid Cloud API requests"):
        fake.assert_no_violations()


async def test_the_24_hour_window(fake: FakeGraphApi, wa: WhatsApp) -> None:
    fake.add_template("hasil_siap_dikirim", "Hasil tiket {{1}} siap.", quick_replies=("Siap",))
    with pytest.raises(ReEngagementMessage):  # never wrote
        await wa.send_message(BOB, "halo")
    fake.text_message(BOB, "halo")
    fake.advance(23 * 3600)
    await wa.send_message(BOB, "masih dalam 24 jam")
    fake.advance(3600)
    with pytest.raises(ReEngagementMessage):
        await wa.send_message(BOB, "terlambat")
    await wa.send_template(
        BOB,
        name="hasil_siap_dikirim",
        language=TemplateLanguage.INDONESIAN,
        params=[BodyText.params("T-0002"), QuickReplyButton.params(callback_data="ready", index=0)],
    )
    assert [m.type for m in fake.sent_to(BOB)] == ["text", "template"]
    assert len(fake.violations) == 2
    assert all("131047" in v for v in fake.violations)


async def test_faults_on_demand_are_not_violations(fake: FakeGraphApi, wa: WhatsApp) -> None:
    fake.text_message(ALICE, "halo")
    fake.fail_next(130429)
    fake.fail_next(131056, to=ALICE)
    fake.fail_next(2)  # 503 Service temporarily unavailable
    with pytest.raises(RateLimitHit):
        await wa.send_message(ALICE, "1")
    with pytest.raises(TooManyMessages):
        await wa.send_message(ALICE, "2")
    with pytest.raises(WhatsAppError) as unavailable:
        await wa.send_message(ALICE, "3")
    assert unavailable.value.status_code == 503
    fake.make_undeliverable(ALICE)
    with pytest.raises(MessageUndeliverable):
        await wa.send_message(ALICE, "4")
    fake.undeliverable.clear()
    await wa.send_message(ALICE, "5")
    assert [m.text for m in fake.sent_to(ALICE)] == ["5"]
    fake.assert_no_violations()


# ====================================================================== webhooks


async def test_signed_webhooks_as_meta_documents_them(fake: FakeGraphApi) -> None:
    async with WebhookReceiver(fake.app_secret) as receiver:
        fake.webhook_url = receiver.url
        assert (await fake.webhook_handshake("wrong"))[0] == 403
        status, body, challenge = await fake.webhook_handshake("verify-me")
        assert (status, body) == (200, challenge)
        delivery = await fake.user_sends_text(ALICE, "halo")
        assert delivery.status == 200
        payload = json.loads(receiver.bodies[-1])
        assert payload["object"] == "whatsapp_business_account"
        (entry,) = payload["entry"]
        assert entry["id"] == fake.metadata.waba_id
        (change,) = entry["changes"]
        assert change["field"] == "messages"
        value = change["value"]
        assert value["messaging_product"] == "whatsapp"
        assert value["metadata"]["phone_number_id"] == fake.metadata.phone_number_id
        assert value["contacts"] == [{"profile": {"name": "Pemohon"}, "wa_id": ALICE}]
        (message,) = value["messages"]
        assert (message["from"], message["type"], message["text"]) == (
            ALICE,
            "text",
            {"body": "halo"},
        )
        assert fake.window_open(ALICE)

        await fake.user_sends_document(ALICE, PDF, "sk.pdf", "application/pdf", caption="SK")
        document = json.loads(receiver.bodies[-1])["entry"][0]["changes"][0]["value"]["messages"][0]
        assert document["document"]["filename"] == "sk.pdf"
        assert fake.media[document["document"]["id"]].content == PDF
        await fake.user_sends_image(ALICE, b"\xff\xd8\xff fake jpeg")
        await fake.user_shares_contact(ALICE, "+62 812-3456-7890", "Ani", requested=True)
        card = json.loads(receiver.bodies[-1])["entry"][0]["changes"][0]["value"]["messages"][0]
        assert card["contacts"][0]["origin"] == "contact_request"

        forged = fake.webhook_body(fake.text_message(ALICE, "palsu"))
        forged.signature = "sha256=" + "0" * 64
        assert await fake.redeliver(forged) == 403
        assert receiver.rejected == 1


async def test_taps_statuses_batches_and_redelivery(fake: FakeGraphApi, wa: WhatsApp) -> None:
    async with WebhookReceiver(fake.app_secret) as receiver:
        fake.webhook_url = receiver.url
        fake.text_message(ALICE, "halo")
        sent = await wa.send_message(
            ALICE, "Pilih", buttons=[Button("Ya", callback_data="yes")], tracker="outbox:3"
        )
        await fake.user_taps_button(ALICE, "yes", "Ya")
        tap = json.loads(receiver.bodies[-1])["entry"][0]["changes"][0]["value"]["messages"][0]
        assert tap["context"]["id"] == sent.id
        assert tap["interactive"] == {
            "type": "button_reply",
            "button_reply": {"id": "yes", "title": "Ya"},
        }
        await fake.user_picks_list_row(ALICE, "ppk", "PPK", "Pejabat Pembuat Komitmen")
        await fake.user_taps_template_button(ALICE, "ready", "Siap menerima")

        batch = await fake.deliver(
            fake.text_message(ALICE, "satu"),
            fake.text_message(BOB, "dua"),
            fake.status_item(sent.id, "delivered"),
            fake.status_item(sent.id, "read"),
        )
        changes = batch.payload["entry"][0]["changes"]
        assert [len(c["value"].get("messages", [])) for c in changes] == [2, 0]
        assert len(changes[0]["value"]["contacts"]) == 2
        statuses = changes[1]["value"]["statuses"]
        assert [s["status"] for s in statuses] == ["delivered", "read"]
        assert statuses[0]["biz_opaque_callback_data"] == "outbox:3"
        assert await fake.redeliver(batch) == 200
        assert receiver.bodies[-1] == receiver.bodies[-2] == batch.raw

        fake.fail_next(131047, later=True, status=None)
        late = await wa.send_message(ALICE, "diterima lalu gagal")
        flushed = await fake.flush_statuses()
        assert flushed is not None
        (failed,) = flushed.payload["entry"][0]["changes"][0]["value"]["statuses"]
        assert (failed["id"], failed["status"]) == (late.id, "failed")
        assert failed["errors"][0]["code"] == 131047
        assert fake.message(sent.id).statuses == ["delivered", "read"]
        fake.assert_no_violations()
