"""Every message a requester can be shown fits WhatsApp's limits and does not name Telegram.

The walk is built from the tables the requester's side is made of: intake's `STEPS` (every
step's prompt, in a new request and in a supplement), the requester's `COMMANDS` and
`TICKET_BUTTONS`, the notice `RENDERERS` and the hand-over's link message. Every data button
of every reply found is then pressed, and what that shows is checked too, so a new prompt,
button or notice is covered without being listed here. WhatsApp refuses a message out of
bounds (error 131009) and no client library checks first: see shared/whatsapp/NOTES.md.
"""

from __future__ import annotations

import copy
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatbot.conversations import intake, requester
from chatbot.conversations import texts as t
from chatbot.conversations.context import Context, Services
from chatbot.conversations.handover import link_message
from chatbot.conversations.messages import Button, Incoming, Reply, Response, SharedContact
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.notices import RENDERERS, NoticeContext, Send, UnknownNotice
from chatbot.conversations.payloads import RequesterAction, RequesterPayload
from chatbot.conversations.state import DialogState
from chatbot.db.models import OutboxMessage, Ticket
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import MissingItem, RequestType, Role
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets import TicketService
from tests.factories import ADMIN, NIP, identity, pdf_bytes, png_bytes, submitted_ticket
from tests.fakes.channel import FakeMessenger

CHANNEL = "telegram"
MAX_BUTTONS = 10  # a list's rows in all; reply buttons are at most 3
REPLY_BUTTON_TITLE = 20  # interactive.button: up to 3 buttons
LIST_ROW_TITLE = 24  # interactive.list: more than 3 choices become its rows
URL_BUTTON_TEXT = 20  # interactive.cta_url
BODY_WITH_BUTTONS = 1024
TEXT_BODY = 4096
LONG_NOTE = "Data pada SK tidak terbaca jelas, mohon kirim ulang. " * 9  # near the 500 cap
LONG_REASON = "SK sudah tidak berlaku dan tidak sesuai data SPSE. " * 9


def limit_problems(reply: Reply) -> list[str]:
    """What WhatsApp (or the rule that requesters never read "Telegram") would refuse."""
    buttons = [button for row in reply.buttons for button in row]
    data = [button for button in buttons if button.url is None]
    urls = [button for button in buttons if button.url is not None]
    title = REPLY_BUTTON_TITLE if len(data) <= 3 else LIST_ROW_TITLE
    body = BODY_WITH_BUTTONS if buttons else TEXT_BODY
    found = []
    if len(buttons) > MAX_BUTTONS:
        found.append(f"{len(buttons)} buttons (at most {MAX_BUTTONS})")
    found += [
        f"button {b.label!r}: {len(b.label)} characters (at most {title})"
        for b in data
        if len(b.label) > title
    ]
    found += [
        f"link button {b.label!r}: {len(b.label)} characters (at most {URL_BUTTON_TEXT})"
        for b in urls
        if len(b.label) > URL_BUTTON_TEXT
    ]
    if len(reply.text) > body:
        found.append(f"text of {len(reply.text)} characters (at most {body})")
    words = [t.plain(reply.text), *(b.label for b in buttons)]
    if any("telegram" in word.lower() for word in words):
        found.append("names Telegram")
    return found


# ---- the checker itself ----------------------------------------------------------------------


def _buttons(*labels: str) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(label, f"d|x|{i}"),) for i, label in enumerate(labels))


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply("?", _buttons(*(f"Pilihan {i}" for i in range(11)))), "11 buttons"),
        (Reply("?", _buttons("A" * 21, "B")), "21 characters (at most 20)"),
        (Reply("?", _buttons("A" * 25, "B", "C", "D")), "25 characters (at most 24)"),
        (Reply("?", ((Button("🔐 " + "x" * 19, url="https://x"),),)), "link button"),
        (Reply("x" * 1025, _buttons("Ya")), "1025 characters (at most 1024)"),
        (Reply("x" * 4097), "4097 characters (at most 4096)"),
        (Reply("Buka di <b>Telegram</b>"), "names Telegram"),
    ],
)
def test_the_checker_finds_each_limit(reply: Reply, problem: str) -> None:
    assert any(problem in found for found in limit_problems(reply))


def test_the_checker_lets_through_what_fits() -> None:
    fits = Reply("x" * 1024, _buttons("A" * 24, "B", "C", "D"))
    assert limit_problems(fits) == []
    assert limit_problems(Reply("x" * 4096)) == []


# ---- the walk --------------------------------------------------------------------------------


@dataclass
class Walk:
    """What the requester was shown, where it came from, and the buttons pressed so far."""

    ctx: Context
    shown: list[tuple[str, Reply]] = field(default_factory=list)
    pending: deque[tuple[str, str, DialogState, Reply]] = field(default_factory=deque)
    pressed: set[tuple[str, str, str, str]] = field(default_factory=set)
    updates: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def incoming(self, chat: str, **what: Any) -> Incoming:
        return Incoming(
            channel=CHANNEL,
            update_id=str(next(self.updates)),
            chat_id=chat,
            user_id=chat,
            user_name="Budi Santoso",
            message_id="1",
            **what,
        )

    def show(self, where: str, chat: str, state: DialogState, response: Response) -> None:
        """Keep a response's replies (and its toast, a message on WhatsApp) to check and to
        press their buttons later."""
        for reply in response.replies:
            self.pending.append((where, chat, copy.deepcopy(state), reply))
        if response.toast:
            self.shown.append((f"{where} (toast)", Reply(response.toast)))

    async def send(self, where: str, chat: str, state: DialogState, **what: Any) -> None:
        """The requester does something in `state`; what they are shown is kept."""
        new_state, response = await requester.handle(
            self.ctx, copy.deepcopy(state), self.incoming(chat, **what)
        )
        self.show(where, chat, new_state, response)

    async def press_everything(self) -> None:
        """Check every reply found and press each of its buttons once per dialog step."""
        while self.pending:
            where, chat, state, reply = self.pending.popleft()
            self.shown.append((where, reply))
            for button in (b for row in reply.buttons for b in row if b.url is None):
                key = (chat, state.flow, state.step, button.data)
                if key in self.pressed:
                    continue
                self.pressed.add(key)
                await self.send(f"{where} > {button.label}", chat, state, button=button.data)


def _context(services: Services) -> Context:
    messengers = Messengers({CHANNEL: FakeMessenger()}, CHANNEL, lambda: "-100")
    return Context(services, messengers, CHANNEL)


def _full_draft(files: DocumentStore, kind: RequestType, role: Role) -> dict[str, Any]:
    """A new request filled in up to its summary, with the longest labels."""
    pages = {
        "letter": [files.keep(pdf_bytes("Surat"), original_name="s.pdf").to_dict()],
        "sk": [files.keep(png_bytes(10)).to_dict(), files.keep(png_bytes(20)).to_dict()],
    }
    person = identity()
    return {
        "order": list(intake.INTAKE),
        "pages": pages,
        "type": kind.value,
        "role": role.value,
        "name": person.name,
        "nip": NIP,
        "unit": person.work_unit,
        "spse_id": "budi.ppk",
        "email": person.email,
        "phone": person.phone,
        "phone_verified": False,
    }


async def _incomplete(tickets: TicketService, files: DocumentStore, chat: str) -> Ticket:
    ticket = await submitted_ticket(tickets, files, RequestType.BOTH, chat_id=chat)
    ticket = await tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        missing=list(MissingItem),
        note=LONG_NOTE,
    )
    return await tickets.get(ticket.id)


async def _received(
    tickets: TicketService, files: DocumentStore, chat: str, kind: RequestType
) -> Ticket:
    ticket = await submitted_ticket(tickets, files, kind, chat_id=chat)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.claim_result(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    link = f"{ticket.id:064x}"
    await tickets.deliver_result(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=ADMIN,
        link_hash=link,
        expires_at=ticket.created_at.replace(year=ticket.created_at.year + 1),
    )
    assert await tickets.mark_received(link_hash=link) is not None
    return await tickets.get(ticket.id)


async def _rejected(tickets: TicketService, files: DocumentStore, chat: str) -> Ticket:
    ticket = await submitted_ticket(tickets, files, RequestType.BOTH, chat_id=chat)
    ticket = await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=ADMIN)
    ticket = await tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN, reason=LONG_REASON
    )
    return await tickets.get(ticket.id)


class Tickets:
    """A requester's tickets in each state a button or notice of theirs depends on, each
    in its own chat (so a status lists that ticket alone)."""

    def __init__(self, tickets: TicketService, files: DocumentStore) -> None:
        self._tickets, self._files = tickets, files
        self._chats = itertools.count(2001)

    async def all(self) -> list[Ticket]:
        tickets, files = self._tickets, self._files
        return [
            await submitted_ticket(tickets, files, RequestType.BOTH, chat_id=self.chat()),
            await _incomplete(tickets, files, self.chat()),
            await _received(tickets, files, self.chat(), RequestType.BOTH),
            await _received(tickets, files, self.chat(), RequestType.USER_ID),
            await _rejected(tickets, files, self.chat()),
        ]

    def chat(self) -> str:
        return str(next(self._chats))


def _row(kind: NoticeKind, ticket: Ticket) -> OutboxMessage:
    return OutboxMessage(
        ticket_id=ticket.id,
        audience="requester",
        kind=kind,
        payload={"round": 1},
        channel=CHANNEL,
        chat_id=ticket.requester.chat_id,
    )


async def test_every_reply_a_requester_can_be_shown_fits_whatsapp_and_names_no_telegram(
    services: Services, tickets: TicketService, files: DocumentStore
) -> None:
    walk = Walk(_context(services))
    chat = "1001"

    # Every step's prompt in a new request (with the longest labels in the summary), and
    # everything the step says to an answer it cannot take.
    asked: set[str] = set()
    longest_type = max(RequestType, key=lambda x: len(t.REQUEST_TYPES[x]))
    longest_role = max(Role, key=lambda x: len(t.ROLES[x]))
    new_request = _full_draft(files, longest_type, longest_role)
    for name in [*intake.INTAKE, "field"]:
        for pages in (new_request["pages"], {}):
            state = DialogState("intake", name, {**copy.deepcopy(new_request), "pages": pages})
            walk.show(f"intake {name}", chat, state, Response([intake.prompt(state)]))
            asked.add(name)
        await walk.send(f"intake {name}: text", chat, state, text="x")
        await walk.send(f"intake {name}: sticker", chat, state, other="sticker")
        contact = SharedContact("+62 811 2222 3333", user_id="77")
        await walk.send(f"intake {name}: contact", chat, state, contact=contact)

    # A supplement asking for everything, the identity with its kept values.
    incomplete = await _incomplete(tickets, files, "1002")
    supplement_state, opened = intake.start_supplement(incomplete)
    walk.show("supplement", "1002", supplement_state, opened)
    for name in supplement_state.data["order"]:
        state = copy.deepcopy(supplement_state)
        state.step = name
        walk.show(f"supplement {name}", "1002", state, Response([intake.prompt(state)]))
        asked.add(name)
        await walk.send(f"supplement {name}: text", "1002", state, text="x")
    walk.show("supplement stopped", "1002", *intake.stop_supplement(supplement_state))

    # Every command, idle and in the middle of a request; and what an idle chat is told.
    in_request = DialogState("intake", "name", copy.deepcopy(new_request))
    for command in requester.COMMANDS:
        for state in (DialogState(), in_request):
            await walk.send(f"/{command} ({state.flow})", chat, state, text=f"/{command}")
    for what in ({"text": "halo"}, {"text": "2611-9999"}, {"other": "sticker"}):
        await walk.send(f"idle {what}", chat, DialogState(), **what)
    for button in ("x|broken", "a|ok|1|1|", "d|type|reset_password"):
        await walk.send(f"stray button {button}", chat, DialogState(), button=button)

    # Every ticket button on a ticket in each state, and each ticket's status.
    made = Tickets(tickets, files)
    for action in requester.TICKET_BUTTONS:
        for ticket in await made.all():
            where = f"{action.name} on {ticket.state.value} {ticket.request_type.value}"
            button = RequesterPayload(action, ticket.id).encode()
            own = ticket.requester.chat_id
            await walk.send(where, own, DialogState(), button=button)
    for ticket in await made.all():
        own = ticket.requester.chat_id
        await walk.send(f"/status of {ticket.state.value}", own, DialogState(), text="/status")

    # Every notice a requester is sent, on a ticket in each state.
    noticed: set[NoticeKind] = set()
    for ticket in await made.all():
        for kind in RENDERERS:
            if kind == NoticeKind.REPLY:
                continue  # a queued dialog reply: checked above where it was made
            try:
                notice = RENDERERS[kind](NoticeContext(_row(kind, ticket), services, ticket))
            except UnknownNotice:
                continue  # the admins'
            if isinstance(notice, Send) and notice.chat is not None:
                own = ticket.requester.chat_id
                walk.show(f"notice {kind.value}", own, DialogState(), Response([notice.reply]))
                noticed.add(kind)

    # The one-time link, on a Web App button or in the text.
    for web_app in (True, False):
        url = "https://spse.example/s/abcdefghijklmnop#" + "k" * 43
        message = link_message(
            "2611-0001", url, "Senin, 30 Nov 2026 pukul 10.00 WIB", web_app=web_app
        )
        walk.show(f"link (web app {web_app})", chat, DialogState(), Response([message]))

    await walk.press_everything()

    assert asked == set(intake.STEP)
    assert noticed >= {
        NoticeKind.INCOMPLETE,
        NoticeKind.SUPPLEMENT_REMINDER,
        NoticeKind.RECEIVED,
        NoticeKind.CONFIRM_REMINDER,
        NoticeKind.REJECTED,
        NoticeKind.EXPIRED,
        NoticeKind.LINK_EXPIRED,
        NoticeKind.LINK_LOST,
        NoticeKind.LINK_REVOKED,
        NoticeKind.CLOSED_UNCONFIRMED,
    }
    pressed_actions = {
        RequesterAction(data.split("|")[1]) for *_, data in walk.pressed if data.startswith("r|")
    }
    assert pressed_actions >= {RequesterAction.SUPPLEMENT, RequesterAction.CONFIRM_LOGIN}
    problems = [
        f"{where}: {problem}\n    {reply.text[:80]!r}"
        for where, reply in walk.shown
        for problem in limit_problems(reply)
    ]
    assert problems == [], "\n".join(problems)
