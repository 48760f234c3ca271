"""The WhatsApp messenger against the fake Graph API over HTTP: Meta's refusals as our
DeliveryError kinds, media up and down (the download capped while it streams), edits sent
anew, the pace, WHATSAPP_API_URL, and pywa's body logging kept out."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from chatbot.channels.pacing import PaceLimits, Pacer
from chatbot.channels.whatsapp.messenger import WhatsAppMessenger, whatsapp_client
from chatbot.conversations.messages import (
    DeliveryError,
    OutgoingFile,
    Reply,
    Throttled,
)
from chatbot.services.identity import InputProblem, InvalidInput
from chatbot.services.ratelimit import Limit
from chatbot.store import Store
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.graph_api import FakeGraphApi

BUDI = "6281234567001"
UNPACED = PaceLimits(*(Limit(10_000, timedelta(seconds=1)) for _ in range(3)))
MAX = 64 * 1024


class NoSizes(httpx.AsyncBaseTransport):
    """The fake's answers without `file_size` (the webhook never has one; Meta's media
    lookup may lack it too): only the streaming cap can stop a large download."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "GET" or "attachments" in request.url.path:
            return response
        data = json.loads(await response.aread())
        data.pop("file_size", None)
        return httpx.Response(response.status_code, json=data)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(api_version="v23.0") as graph:
        graph.add_user(BUDI, "Budi")
        graph.text_message(BUDI, "halo")  # Budi wrote: the window is open
        yield graph
        graph.assert_no_violations()


def messenger_for(
    graph: FakeGraphApi,
    store: Store,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    api_url: str = "https://graph.facebook.com",
    limits: PaceLimits = UNPACED,
) -> WhatsAppMessenger:
    client = whatsapp_client(
        phone_id=graph.metadata.phone_number_id,
        token=graph.token,
        api_version="v23.0",
        api_url=api_url,
        # By default the fake's transport; with WHATSAPP_API_URL set, our own redirect.
        transport=transport or (graph.transport() if "graph.facebook" in api_url else None),
    )
    return WhatsAppMessenger(client, Pacer(store, "whatsapp", limits), max_download=MAX)


@pytest.fixture
async def messenger(graph: FakeGraphApi, store: Store) -> AsyncIterator[WhatsAppMessenger]:
    messenger = messenger_for(graph, store)
    yield messenger
    await messenger.close()


# ---- sending -------------------------------------------------------------------------------


async def test_a_reply_is_sent_and_its_wamid_returned(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    wamid = await messenger.send(BUDI, Reply("Halo <b>Budi</b>"))
    sent = graph.last_sent(BUDI)
    assert sent.wamid == wamid
    assert sent.payload == {"body": "Halo *Budi*", "preview_url": False}


async def test_an_edit_is_sent_anew_and_a_delete_does_nothing(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    first = await messenger.send(BUDI, Reply("Satu"))
    await messenger.edit(BUDI, first, Reply("Dua"))
    await messenger.delete(BUDI, first)
    assert [m.payload["body"] for m in graph.sent_to(BUDI)] == ["Satu", "Dua"]
    assert graph.calls_to(first) == []  # no call names the message


async def test_a_business_scoped_user_id_is_the_recipient(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    user_id = "ID.3713258114440669556"
    graph.last_inbound[user_id] = graph.now()
    await messenger.send(user_id, Reply("Halo"))
    call = graph.calls_to("/messages", "POST")[-1]
    assert call.body["recipient"] == user_id and "to" not in call.body


async def test_api_url_redirects_pywa_from_metas_host(graph: FakeGraphApi, store: Store) -> None:
    messenger = messenger_for(graph, store, api_url=graph.base_url)
    try:
        await messenger.send(BUDI, Reply("lewat proxy"))
    finally:
        await messenger.close()
    assert graph.last_sent(BUDI).payload["body"] == "lewat proxy"


@pytest.mark.parametrize(
    ("code", "kind", "permanent", "retry_after"),
    [
        (131047, "window", True, None),
        (131026, "blocked", True, None),
        (130429, "rate_limited", False, 1.0),
        (131056, "rate_limited", False, 6.0),
        (1, "server_error", False, None),
        (2, "server_error", False, None),
        (131009, "bad_request", True, None),
        (100, "bad_request", True, None),
    ],
)
async def test_metas_refusals_are_classified(
    graph: FakeGraphApi,
    messenger: WhatsAppMessenger,
    code: int,
    kind: str,
    permanent: bool,
    retry_after: float | None,
) -> None:
    graph.fail_next(code, to=BUDI)
    with pytest.raises(DeliveryError) as refused:
        await messenger.send(BUDI, Reply("Halo"))
    error = refused.value
    assert (error.kind, error.permanent, error.retry_after) == (kind, permanent, retry_after)
    assert str(code) in error.reason
    assert error.blocked == (code == 131026)


async def test_a_closed_window_is_a_permanent_window_refusal(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    graph.window_is_violation = False  # the bot cannot know; templates come later
    graph.advance(25 * 3600)
    with pytest.raises(DeliveryError) as refused:
        await messenger.send(BUDI, Reply("Halo"))
    assert (refused.value.kind, refused.value.permanent) == ("window", True)


async def test_an_unreachable_api_is_a_passing_network_failure(store: Store) -> None:
    graph = FakeGraphApi()  # never started: nothing listens on its port
    graph.port = 9  # discard: refused at once
    messenger = messenger_for(graph, store)
    try:
        with pytest.raises(DeliveryError) as refused:
            await messenger.send(BUDI, Reply("Halo"))
    finally:
        await messenger.close()
    assert (refused.value.kind, refused.value.permanent) == ("network", False)


async def test_the_deferring_variant_raises_throttled_at_the_pace(
    graph: FakeGraphApi, store: Store
) -> None:
    one_a_minute = PaceLimits(*(Limit(1, timedelta(minutes=1)) for _ in range(3)))
    messenger = messenger_for(graph, store, limits=one_a_minute)
    try:
        await messenger.deferring().send(BUDI, Reply("Satu"))
        with pytest.raises(Throttled):
            await messenger.deferring().send(BUDI, Reply("Dua"))
    finally:
        await messenger.close()
    assert len(graph.sent_to(BUDI)) == 1


# ---- media ---------------------------------------------------------------------------------


async def test_files_are_uploaded_and_sent_as_documents_and_photos(
    graph: FakeGraphApi, messenger: WhatsAppMessenger, tmp_path: Path
) -> None:
    pdf, png = tmp_path / "laporan.pdf", tmp_path / "grafik.png"
    pdf.write_bytes(pdf_bytes("Laporan"))
    png.write_bytes(png_bytes(40))
    ids = await messenger.send_files(
        BUDI,
        [
            OutgoingFile(str(pdf), "laporan.pdf", caption="Laporan " + "x" * 2000),
            OutgoingFile(str(png), "grafik.png", photo=True),
        ],
    )
    document, image = graph.sent_to(BUDI)
    assert ids == [document.wamid, image.wamid]
    assert document.type == "document" and document.payload["filename"] == "laporan.pdf"
    assert len(document.payload["caption"]) == 1024
    assert image.type == "image" and "filename" not in image.payload
    assert graph.media[document.payload["id"]].content == pdf.read_bytes()


async def test_a_download_returns_the_bytes(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    content = pdf_bytes("Surat")
    media = graph.store_media(content, "application/pdf", "surat.pdf")
    assert await messenger.download(media.id) == content


async def test_a_download_over_the_limit_stops_by_its_size(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    media = graph.store_media(b"0" * (MAX + 1), "application/pdf", "besar.pdf")
    with pytest.raises(InvalidInput) as refused:
        await messenger.download(media.id)
    assert refused.value.problem == InputProblem.FILE_TOO_BIG
    assert graph.calls_to("/whatsapp_business/attachments/") == []


async def test_a_download_without_a_size_stops_while_streaming(
    graph: FakeGraphApi, store: Store
) -> None:
    messenger = messenger_for(graph, store, transport=NoSizes(graph.transport()))
    media = graph.store_media(b"0" * (4 * MAX), "application/pdf", "besar.pdf")
    small = graph.store_media(b"kecil", "application/pdf", "kecil.pdf")
    try:
        with pytest.raises(InvalidInput):
            await messenger.download(media.id)
        assert await messenger.download(small.id) == b"kecil"
    finally:
        await messenger.close()


async def test_an_unknown_media_id_is_refused_for_good(
    graph: FakeGraphApi, messenger: WhatsAppMessenger
) -> None:
    with pytest.raises(DeliveryError) as refused:
        await messenger.download("123456")
    assert (refused.value.kind, refused.value.permanent) == ("bad_request", True)
    assert len(graph.violations) == 1  # the fake counts it as our mistake: expected here
    graph.violations.clear()


def test_pywa_never_logs_bodies() -> None:
    """At DEBUG pywa logs whole request bodies, one-time links included."""
    for name in ("pywa", "pywa.api", "pywa_async", "pywa_async.api"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
