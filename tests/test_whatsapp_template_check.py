"""The WhatsApp templates our notices need (channels/whatsapp/templates.py) against what Meta
approved: `chatbot whatsapp templates` on the fake Graph API, the same check's warnings at
start-up, the shapes against the rendered notices, and the README and `.env.example` against
the shapes, so none of them can drift."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatbot.app import App, create_app, warn_about_templates, whatsapp_requesters
from chatbot.channels.pacing import Pacer
from chatbot.channels.whatsapp.messenger import WhatsAppMessenger, whatsapp_client
from chatbot.channels.whatsapp.templates import SHAPES, label_key
from chatbot.cli import main
from chatbot.conversations.context import Services
from chatbot.conversations.messages import Messenger, TemplateNotice
from chatbot.conversations.notices import NoticeContext, Send, UnknownNotice, render
from chatbot.db.models import OutboxMessage
from chatbot.pipeline import ChannelAdapter
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import TicketState
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.store import Store
from tests.e2e.harness import UNPACED
from tests.factories import submitted_ticket
from tests.fakes.graph_api import FakeGraphApi

Requesters = list[tuple[ChannelAdapter, Messenger]]
ROOT = Path(__file__).resolve().parent.parent
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-token_for-the-handshake"
BUDI = "6281234567001"
TOKEN = "EAAfaketoken-of-the-template-check"

# The README's suggested templates, approved as the README says.
GOOD = {
    "rejected": (
        "permohonan_ditolak",
        "Permohonan tiket {{1}} tidak dapat diproses. Ketik status.",
        (),
    ),
    "received": (
        "hasil_dibuka",
        "Link hasil tiket {{1}} sudah dibuka. Ketuk Sudah login.",
        ("Sudah login", "Bukan saya"),
    ),
    "incomplete": (
        "tiket_perlu_dilengkapi",
        "Tiket {{1}} belum lengkap. Ketuk Lengkapi.",
        ("Lengkapi",),
    ),
}


def configured(kinds: dict[str, tuple[str, str, tuple[str, ...]]]) -> str:
    return ",".join(f"{kind}={name}" for kind, (name, _, _) in kinds.items())


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(token=TOKEN, app_secret=APP_SECRET) as graph:
        for name, body, replies in GOOD.values():
            graph.add_template(name, body, quick_replies=replies)
        yield graph
        graph.assert_no_violations()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for key, value in {
        "DATABASE_URL": settings.database_url,
        "STORAGE_DIR": str(settings.storage_dir),
        "REDIS_URL": "",
        "TELEGRAM_BOT_TOKEN": "",
        "TELEGRAM_ADMIN_CHAT_ID": "",
        "WHATSAPP_TOKEN": TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "WHATSAPP_WABA_ID": "102290129340398",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_TEMPLATES": configured(GOOD),
        "WHATSAPP_TEMPLATE_LANGUAGE": "id",
    }.items():
        monkeypatch.setenv(key, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:  # the command logs to the test's captured stderr
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


async def cli(monkeypatch: pytest.MonkeyPatch, graph: FakeGraphApi, **env: str) -> int:
    """`chatbot whatsapp templates` as an operator runs it, against the fake Graph API."""
    monkeypatch.setenv("WHATSAPP_API_URL", graph.base_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return await asyncio.to_thread(main, ["whatsapp", "templates"])


# ---- the command ------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env")
async def test_all_good_lists_the_templates_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, graph: FakeGraphApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(monkeypatch, graph) == 0
    out = capsys.readouterr().out
    listed = next(line for line in out.splitlines() if "hasil_dibuka " in line).split()
    assert listed[:4] == ["hasil_dibuka", "id", "APPROVED", "UTILITY"]
    assert '"Sudah login", "Bukan saya"' in out
    for kind, (name, _, _) in GOOD.items():
        assert f"ok     {kind} -> {name}" in out
    assert "WRONG" not in out
    # The kinds without a template are named: their notices wait for the requester.
    without = next(line for line in out.splitlines() if line.startswith("No template"))
    held = without.split("): ", 1)[1].split(", ")
    assert set(held) == set(SHAPES) - set(GOOD)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ("missing", "no template named hasil_dibuka"),
        ("language", "exists in en_US but not in id"),
        ("parameters", "its body has 2 parameter(s), expected 1"),
        ("quick_reply", 'quick-reply buttons "Sudah login", expected "Sudah login", "Bukan saya"'),
        ("order", 'quick-reply buttons "Bukan saya", "Sudah login", expected'),
        ("pending", "status PENDING, not APPROVED"),
    ],
)
async def test_a_wrong_template_is_named_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
    graph: FakeGraphApi,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    problem: str,
) -> None:
    del graph.templates["hasil_dibuka", "id"]
    body = "Link hasil tiket {{1}} sudah dibuka. Ketuk Sudah login."
    both = ("Sudah login", "Bukan saya")
    if setup == "language":
        graph.add_template("hasil_dibuka", body, language="en_US", quick_replies=both)
    elif setup == "parameters":
        graph.add_template(
            "hasil_dibuka", "Tiket {{1}} dibuka pada {{2}}. Ketuk.", quick_replies=both
        )
    elif setup == "quick_reply":
        graph.add_template("hasil_dibuka", body, quick_replies=("Sudah login",))
    elif setup == "order":
        graph.add_template("hasil_dibuka", body, quick_replies=("Bukan saya", "Sudah login"))
    elif setup == "pending":
        graph.add_template("hasil_dibuka", body, quick_replies=both, status="PENDING")

    assert await cli(monkeypatch, graph) == 1

    out = capsys.readouterr().out
    wrong = [line for line in out.splitlines() if "WRONG" in line]
    assert len(wrong) == 1 and "received -> hasil_dibuka" in wrong[0], out
    assert problem in wrong[0]
    assert "1 configured template(s) are wrong" in out


@pytest.mark.usefixtures("cli_env")
async def test_a_configured_kind_that_never_goes_to_requesters_is_wrong(
    monkeypatch: pytest.MonkeyPatch, graph: FakeGraphApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(monkeypatch, graph, WHATSAPP_TEMPLATES="card=permohonan_ditolak") == 1
    assert "card -> permohonan_ditolak: not a notice sent to requesters" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
async def test_meta_unreachable_or_refusing_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, graph: FakeGraphApi, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WHATSAPP_API_URL", "http://127.0.0.1:9")  # nothing listens
    assert await asyncio.to_thread(main, ["whatsapp", "templates"]) == 2
    err = capsys.readouterr().err
    assert "Meta could not be reached at http://127.0.0.1:9" in err

    assert await cli(monkeypatch, graph, WHATSAPP_TOKEN="EAAnotthetoken123") == 2
    assert "Meta refused to list the templates (190)" in capsys.readouterr().err
    graph.violations.clear()  # the wrong token was the point


@pytest.mark.usefixtures("cli_env")
async def test_without_whatsapp_settings_the_command_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, graph: FakeGraphApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(monkeypatch, graph, WHATSAPP_WABA_ID="") == 2
    assert "set WHATSAPP_WABA_ID" in capsys.readouterr().err


# ---- at start-up ------------------------------------------------------------------------------


@pytest.fixture
async def whatsapp_app(
    settings: Settings, graph: FakeGraphApi, engine: object
) -> AsyncIterator[tuple[App, Requesters]]:
    from pydantic import SecretStr

    configured_settings = settings.model_copy(
        update={
            "whatsapp_token": SecretStr(graph.token),
            "whatsapp_phone_number_id": graph.metadata.phone_number_id,
            "whatsapp_waba_id": graph.metadata.waba_id,
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_templates": "received=hasil_dibuka,rejected=tiket_ditolak_lama",
        }
    )
    app = await create_app(configured_settings)
    requesters = whatsapp_requesters(app, limits=UNPACED, transport=graph.transport())
    yield app, list(requesters)
    for _, messenger in requesters:
        assert isinstance(messenger, WhatsAppMessenger)
        await messenger.close()
    await app.close()


async def test_start_up_warns_once_per_problem(
    whatsapp_app: tuple[App, Requesters], caplog: pytest.LogCaptureFixture
) -> None:
    app, requesters = whatsapp_app
    with caplog.at_level(logging.WARNING, logger="chatbot.app"):
        await warn_about_templates(app, requesters)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 2, lines
    assert "tiket_ditolak_lama for rejected: no template named tiket_ditolak_lama" in lines[0]
    assert lines[1].startswith("WhatsApp: no template for incomplete, supplement_reminder")


async def test_start_up_goes_on_when_meta_does_not_answer(
    whatsapp_app: tuple[App, Requesters],
    graph: FakeGraphApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, requesters = whatsapp_app
    await graph.stop()  # Meta away
    with caplog.at_level(logging.WARNING, logger="chatbot.app"):
        await warn_about_templates(app, requesters, timeout=2.0)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "WhatsApp templates not checked" in lines[0], lines


# ---- the messenger sends as many quick replies as the template has ----------------------------


async def test_the_messenger_sends_only_the_quick_replies_the_kind_declares(
    graph: FakeGraphApi, store: Store
) -> None:
    graph.add_user(BUDI, "Budi")
    client = whatsapp_client(
        phone_id=graph.metadata.phone_number_id,
        token=graph.token,
        api_version="v23.0",
        transport=graph.transport(),
    )
    templates = {kind: name for kind, (name, _, _) in GOOD.items()}
    messenger = WhatsAppMessenger(
        client, Pacer(store, "whatsapp", UNPACED), max_download=2**20, templates=templates
    )
    try:
        rejected = TemplateNotice("rejected", "2612-0001", quick_replies=("r:1",))
        sent = graph.message(await messenger.send_template(BUDI, rejected))
        assert [c["type"] for c in sent.payload["components"]] == ["body"]
        received = TemplateNotice("received", "2612-0001", quick_replies=("c:1", "n:1", "x:1"))
        sent = graph.message(await messenger.send_template(BUDI, received))
        payloads = [
            c["parameters"][0]["payload"]
            for c in sent.payload["components"]
            if c["type"] == "button"
        ]
        assert payloads == ["c:1", "n:1"]
    finally:
        await messenger.close()


# ---- the shapes against the notices -----------------------------------------------------------


def _row(kind: str, ticket_id: int) -> OutboxMessage:
    return OutboxMessage(
        ticket_id=ticket_id,
        audience="requester",
        kind=kind,
        payload={},
        channel="whatsapp",
        chat_id=BUDI,
    )


async def test_every_requester_notice_has_a_shape_whose_quick_replies_are_its_buttons(
    tickets: TicketService, files: DocumentStore, services: Services
) -> None:
    ticket = await submitted_ticket(tickets, files, chat_id=BUDI, channel="whatsapp")
    rendered: dict[str, list[str]] = {}
    for kind in NoticeKind:
        # In memory, the state each notice renders in: "hasil siap dikirim" while the
        # ticket waits for its result, the supplement reminder while it is incomplete.
        ticket.state = (
            TicketState.VALID if kind == NoticeKind.RESULT_READY else TicketState.INCOMPLETE
        )
        try:
            notice = render(NoticeContext(_row(kind, ticket.id), services, ticket))
        except (UnknownNotice, ValueError, KeyError):
            continue  # the admins' kinds, and a dialog's reply (sent while the window is open)
        if isinstance(notice, Send) and notice.chat == BUDI:
            rendered[str(kind)] = [b.label for r in notice.reply.buttons for b in r if b.data]
    assert {"incomplete", "received", "confirm_reminder", "rejected"} <= set(rendered)
    assert set(rendered) <= set(SHAPES), "a requester notice without a template shape"
    for name, labels in rendered.items():
        shape = SHAPES[name]
        assert shape.parameters == 1, name  # the sender has only the ticket number to give
        assert [label_key(x) for x in labels] == [label_key(x) for x in shape.quick_replies], name
        assert all(len(label) <= 25 for label in shape.quick_replies)  # Meta's button limit
    assert set(SHAPES) == set(rendered), "a template shape without its requester notice"


# ---- the docs against the shapes --------------------------------------------------------------


def readme_templates() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """kind -> (suggested name, body, quick replies) from the README's templates table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| kind | suggested name | body | quick replies |", 1)[1]
    found = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        kind, name, body, replies = (cell.strip() for cell in line.strip("|").split("|"))
        labels = () if replies == "-" else tuple(x.strip() for x in replies.split(","))
        found[kind.strip("`")] = (name.strip("`"), body, labels)
    return found


def test_the_readme_documents_every_kind_with_its_shape() -> None:
    documented = readme_templates()
    assert set(documented) == set(SHAPES)
    for kind, (name, body, labels) in documented.items():
        shape = SHAPES[kind]
        assert re.fullmatch(r"[a-z0-9_]{1,512}", name), kind
        assert set(re.findall(r"\{\{(\w+)\}\}", body)) == {"1"}, kind
        assert shape.parameters == 1
        # Meta refuses a body that starts or ends with a variable.
        assert not body.startswith("{{") and not body.rstrip(".").endswith("}}"), kind
        assert labels == shape.quick_replies, kind
        for label in labels:
            assert label in body, f"{kind}: the body should name the {label} button"


def test_env_example_suggests_the_readmes_names_for_every_kind() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    example = next(x for x in lines if x.startswith("# WHATSAPP_TEMPLATES="))
    pairs = dict(item.split("=", 1) for item in example.split("=", 1)[1].split(","))
    assert pairs == {kind: name for kind, (name, _, _) in readme_templates().items()}
