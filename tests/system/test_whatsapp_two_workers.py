"""Two `chatbot serve` workers on one PostgreSQL and Redis, a WhatsApp requester writing to
them: every signed body is POSTed to both (as Meta's retries may land), and the requester's
whole intake is answered once each, in order; the ticket's card appears once in the admins'
Telegram group.

The requester is paced as WhatsApp asks (five messages in 30 s to one user, counted in Redis
by both workers together), so the fourteen answers take up to a minute.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatbot.services.enums import TicketState
from chatbot.settings import Settings
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.e2e.harness import GROUP
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.system.conftest import stored_outcomes
from tests.system.processes import BotProcess, Supervisor, bot_env
from tests.system.whatsapp import WaRun, fresh_graph, wa_transcript, webhook_url, whatsapp_env

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL),
    reason="several workers need PostgreSQL and Redis (make test-real)",
)

BUDI = "6281234567201"
FILES = {
    "surat.pdf": (pdf_bytes("Surat"), "application/pdf"),
    "sk.png": (png_bytes(10), "image/png"),
}
# What Budi does, and what answers it (the phone step is left out: his number is verified).
INTAKE = [
    ("text", "/start", "Pilih menu"),
    ("tap", "Ajukan permohonan", "Langkah 1/9"),
    ("tap", "Reset password", "Langkah 2/9"),
    ("tap", "PPK", "Langkah 3/9"),
    ("text", "Budi Santoso", "Langkah 4/9"),
    ("text", "1985 0312 2010 01 1 004", "Langkah 5/9"),
    ("text", "Dinas Pekerjaan Umum", "Langkah 6/9"),
    ("tap", "Lewati", "Langkah 7/9"),
    ("text", "budi@magelangkota.go.id", "Langkah 8/9"),
    ("file", "surat.pdf", "1 file diterima"),
    ("tap", "Selesai", "Langkah 9/9"),
    ("file", "sk.png", "1 file diterima"),
    ("tap", "Selesai", "Kirim permohonan"),
    ("tap", "Kirim permohonan", "nomor tiket"),
]


async def test_two_workers_answer_a_whatsapp_intake_once_and_in_order(
    crash_fake: FakeBotApi,
    settings: Settings,
    engine: object,
    store: object,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    fake, graph = crash_fake, await fresh_graph()
    env = bot_env(
        fake,
        database_url=settings.database_url,
        redis_url=TEST_REDIS_URL,
        prefix=redis_prefix,
        storage=tmp_path / "files",
    )
    env.update(whatsapp_env(graph))
    workers = [BotProcess(env, tmp_path / f"worker{i}.log", command="serve") for i in (1, 2)]
    order = itertools.cycle([(0, 1), (1, 0)])
    try:
        supervisor = Supervisor(*workers)
        async with supervisor, httpx.AsyncClient(timeout=30) as http:
            run = WaRun(graph, http, lambda: [webhook_url(workers[i]) for i in next(order)])
            for kind, what, expect in INTAKE:
                if kind == "text":
                    item = run.text(BUDI, what)
                elif kind == "tap":
                    item = run.tap(BUDI, what)
                else:
                    content, mime = FILES[what]
                    item = run.file(BUDI, content, what, mime)
                await run.act(BUDI, item, expect)
            handled = [await _handled(http, w) for w in workers]
            starts = [w.starts for w in workers]

        assert starts == [1, 1]  # nobody crashed
        assert supervisor.exit_codes == [0, 0]
        shown, excused = wa_transcript(graph, [BUDI])
        assert excused == []
        answers = shown[BUDI]
        # One answer to each step, in the order of the steps: nothing twice, nothing skipped.
        assert len(answers) == len(INTAKE), answers
        for answer, (_, _, expect) in zip(answers, INTAKE, strict=True):
            assert expect in answer, (expect, answers)
        cards = [m for m in fake.chat_messages(GROUP) if m.content.startswith("🎫 Tiket")]
        assert len(cards) == 1, [m.content[:60] for m in fake.chat_messages(GROUP)]
        assert "via WhatsApp" in cards[0].content
        files = [m for m in fake.chat_messages(GROUP) if m.document or m.photo]
        assert len(files) == 2
        graph.assert_no_violations()
        fake.assert_no_violations()

        outcomes, states = await stored_outcomes(settings.database_url)
        assert {outcomes.get(wamid) for wamid in run.wamids} == {"handled"}
        assert states == [TicketState.SUBMITTED]
        # Each body reached both workers; each message was handled by one of them, once.
        assert sum(handled) == len(run.wamids), handled
    finally:
        await graph.stop()


async def _handled(http: httpx.AsyncClient, worker: BotProcess) -> float:
    response = await http.get(f"http://127.0.0.1:{worker.port}/metrics")
    assert response.status_code == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "chatbot_updates_total"
        and sample.labels.get("channel") == "whatsapp"
        and sample.labels.get("outcome") in ("handled", "ignored")
    )
