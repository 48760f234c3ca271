"""The requester's private chat: submit a request, supplement it, ask its status, cancel it.

Each step of a dialog is a row in a table: what it asks, what input it takes, how it checks
it. Anything unexpected at a step gets a short hint and the step's question again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.endings import archive_quietly
from chatbot.conversations.messages import Button, Incoming, Keyboard, Reply, Response
from chatbot.conversations.payloads import (
    DialogPayload,
    PayloadError,
    RequesterAction,
    RequesterPayload,
    decode,
)
from chatbot.conversations.state import DialogState
from chatbot.db.models import Ticket, utcnow
from chatbot.services.documents import DraftUploads, StoredFile
from chatbot.services.enums import DocumentKind, MissingItem, RequestType, Role, Step, TicketState
from chatbot.services.identity import (
    Identity,
    InvalidInput,
    clean_text,
    format_nip,
    normalize_email,
    normalize_nip,
    normalize_phone,
)
from chatbot.services.tickets import (
    Actor,
    NewDocument,
    TicketError,
    TicketNotFound,
    parse_ticket_number,
)

log = logging.getLogger(__name__)

INTAKE = [
    "type",
    "role",
    "name",
    "nip",
    "unit",
    "spse_id",
    "email",
    "phone",
    "letter",
    "sk",
    "confirm",
]
IDENTITY_STEPS = ["name", "nip", "unit", "spse_id", "email"]
EDITABLE = {
    "type": "Jenis permohonan",
    "role": "Jabatan",
    "name": "Nama",
    "nip": "NIP",
    "unit": "Unit kerja",
    "spse_id": "User ID SPSE",
    "email": "Email",
    "phone": "Nomor HP",
    "letter": "Surat permohonan",
    "sk": "SK",
}
MAX_PAGES = 20

Result = tuple[DialogState, Response]


def _choice(step: str, value: str, label: str) -> Button:
    return Button(label, DialogPayload(step, value).encode())


def _say(*replies: Reply, toast: str | None = None) -> Response:
    return Response(replies=list(replies), toast=toast)


# ---- prompts -------------------------------------------------------------------------------


def prompt(state: DialogState) -> Reply:
    """The question of the current step."""
    step = state.step
    if step == "type":
        return Reply(
            t.ASK_TYPE,
            buttons=tuple(
                (_choice("type", rt.value, label),) for rt, label in t.REQUEST_TYPES.items()
            ),
        )
    if step == "role":
        return Reply(
            t.ASK_ROLE,
            buttons=tuple((_choice("role", r.value, label),) for r, label in t.ROLES.items()),
        )
    if step == "name":
        return _with_current(state, Reply(_prefix(state) + t.ASK_NAME))
    if step == "nip":
        return _with_current(state, Reply(t.ASK_NIP))
    if step == "unit":
        return _with_current(state, Reply(t.ASK_UNIT))
    if step == "spse_id":
        return _with_current(
            state, Reply(t.ASK_SPSE_ID, buttons=((_choice("spse_id", "-", t.SKIP),),))
        )
    if step == "email":
        return _with_current(state, Reply(t.ASK_EMAIL))
    if step == "phone":
        return Reply(t.ASK_PHONE, keyboard=Keyboard.SHARE_CONTACT)
    if step in ("letter", "sk"):
        kind = DocumentKind(step)
        pages = len(state.data.get("pages", {}).get(step, []))
        if pages:
            return Reply(t.page_received(kind, pages), buttons=((_choice(step, "done", t.DONE),),))
        number = 9 if kind is DocumentKind.LETTER else 10
        return Reply(t.ask_document(kind, number), keyboard=Keyboard.REMOVE)
    if step == "confirm":
        return Reply(
            t.summary(state.data, _page_counts(state)),
            buttons=(
                (_choice("confirm", "send", t.CONFIRM_SEND),),
                (_choice("confirm", "change", t.CHANGE), _choice("confirm", "cancel", t.CANCEL)),
            ),
        )
    if step == "sconfirm":
        return Reply(
            _supplement_summary(state),
            buttons=(
                (
                    _choice("sconfirm", "send", t.SUPPLEMENT_SEND),
                    _choice("sconfirm", "cancel", t.CANCEL),
                ),
            ),
        )
    if step == "field":
        rows = [_choice("field", key, label) for key, label in EDITABLE.items()]
        return Reply(t.PICK_FIELD, buttons=tuple(tuple(rows[i : i + 2]) for i in range(0, 10, 2)))
    return Reply(t.IDLE_HINT)


def _prefix(state: DialogState) -> str:
    return t.SUPPLEMENT_IDENTITY if state.flow == "supplement" else ""


def _current(state: DialogState) -> str | None:
    """In a supplement, the value the ticket holds for this identity step (to keep it)."""
    if state.flow != "supplement" or state.step not in IDENTITY_STEPS:
        return None
    value = state.data.get(state.step)
    if not value:
        return None
    return format_nip(str(value)) if state.step == "nip" else str(value)


def _with_current(state: DialogState, question: Reply) -> Reply:
    """A supplement's identity question offers the old value: kept with one tap."""
    current = _current(state)
    if current is None:
        return question
    return Reply(
        question.text + t.current_value(current),
        buttons=((_choice(state.step, "keep", t.KEEP_VALUE),), *question.buttons),
    )


def _page_counts(state: DialogState) -> dict[str, int]:
    return {k: len(v) for k, v in state.data.get("pages", {}).items()}


def _supplement_summary(state: DialogState) -> str:
    lines = [f"<b>Kelengkapan tiket {t.e(state.data['number'])}</b>"]
    for kind, count in _page_counts(state).items():
        lines.append(f"{t.DOCUMENT_SHORT[DocumentKind(kind)]}: {count} file")
    if "name" in state.data:
        lines += [
            f"Nama: {t.e(state.data['name'])}",
            f"NIP: <code>{t.e(format_nip(str(state.data['nip'])))}</code>",
            f"Unit kerja: {t.e(state.data['unit'])}",
            f"User ID SPSE: {t.e(state.data.get('spse_id') or '(tidak diisi)')}",
            f"Email: {t.e(state.data['email'])}",
        ]
    return "\n".join([*lines, "", t.SUPPLEMENT_CONFIRM])


# ---- entry point ---------------------------------------------------------------------------


async def handle(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Route one Incoming of a requester's private chat."""
    command = inc.command
    if command is not None:
        return await _command(ctx, state, inc, command)
    if inc.button is not None:
        return await _button(ctx, state, inc)
    if state.idle:
        return await _idle(ctx, state, inc)
    return await _answer(ctx, state, inc)


async def _command(ctx: Context, state: DialogState, inc: Incoming, command: str) -> Result:
    if command in ("start", "mulai", "menu"):
        if not state.idle:
            return state, _say(_continue_or_restart())
        return state, _say(_menu())
    if command in ("batal", "cancel"):
        if state.idle:
            return state, _say(Reply(t.NOTHING_TO_CANCEL))
        if state.flow == "supplement":
            return _stop_supplement(state)
        return DialogState(), _say(Reply(t.DIALOG_CANCELLED, keyboard=Keyboard.REMOVE))
    if command in ("bantuan", "help"):
        return state, _say(Reply(t.HELP), *([] if state.idle else [prompt(state)]))
    if command == "status":
        return state, _say(*await _status(ctx, inc), *([] if state.idle else [prompt(state)]))
    if command in ("ajukan", "baru"):
        if not state.idle:
            return state, _say(_continue_or_restart())
        return _start_intake()
    return state, _say(Reply(t.IDLE_HINT), *([] if state.idle else [prompt(state)]))


def _continue_or_restart() -> Reply:
    return Reply(
        t.IN_DIALOG,
        buttons=((_choice("menu", "resume", t.CONTINUE), _choice("menu", "restart", t.RESTART)),),
    )


def _menu() -> Reply:
    return Reply(
        t.WELCOME,
        buttons=(
            (_choice("menu", "submit", t.MENU_SUBMIT),),
            (_choice("menu", "status", t.MENU_STATUS), _choice("menu", "help", t.MENU_HELP)),
        ),
    )


def _start_intake() -> Result:
    state = DialogState(flow="intake", step="type", data={"order": INTAKE, "pages": {}})
    return state, _say(prompt(state))


async def _button(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    try:
        payload = decode(inc.button or "")
    except PayloadError:
        return state, Response(toast=t.BUTTON_BROKEN)
    if isinstance(payload, RequesterPayload):
        return await _ticket_button(ctx, state, inc, payload)
    if not isinstance(payload, DialogPayload):
        return state, Response(toast=t.NOT_ADMIN, alert=True)
    if payload.step == "menu":
        return await _menu_choice(ctx, state, inc, payload.value)
    if payload.step != state.step or state.idle:
        return state, Response(toast=t.STALE_CHOICE)
    return await _answer(ctx, state, inc, choice=payload.value)


async def _menu_choice(ctx: Context, state: DialogState, inc: Incoming, value: str) -> Result:
    if value == "resume" and not state.idle:
        return state, _say(prompt(state))
    if value in ("restart", "submit") and (value == "restart" or state.idle):
        return _start_intake()
    if value == "status":
        return state, _say(*await _status(ctx, inc))
    if value == "help":
        return state, _say(Reply(t.HELP))
    return state, Response(toast=t.STALE_CHOICE)


async def _idle(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    text = (inc.text or "").strip()
    if text.lower() in ("status", "cek status", "/status"):
        return state, _say(*await _status(ctx, inc))
    number = parse_ticket_number(text) if text else None
    if number is not None:
        return state, _say(*await _status(ctx, inc, number=number))
    if inc.file is not None:
        waiting = [x for x in await _own_tickets(ctx, inc) if x.state == TicketState.INCOMPLETE]
        if len(waiting) == 1:
            new_state, response = _start_supplement(waiting[0])
            if new_state.step in ("letter", "sk"):
                return await _answer(ctx, new_state, inc)
            return new_state, response
    if inc.other is not None:
        return state, _say(Reply(t.UNSUPPORTED + "\n" + t.IDLE_HINT))
    return state, _say(_menu())


# ---- answering the current step --------------------------------------------------------------


async def _answer(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None = None
) -> Result:
    step = state.step
    handler = _STEP_HANDLERS.get(step)
    if handler is None:
        return DialogState(), _say(_menu())
    try:
        return await handler(ctx, state, inc, choice)
    except InvalidInput as bad:
        return state, _say(Reply(f"⚠️ {t.e(bad.reason)}"), prompt(state))


def _advance(state: DialogState, extra: list[Reply] | None = None) -> Result:
    """Go to the next step (or back to the summary after an edit) and ask its question."""
    order: list[str] = state.data["order"]
    if state.data.pop("editing", False):
        state.step = order[-1]
    else:
        state.step = order[order.index(state.step) + 1]
    return state, _say(*(extra or []), prompt(state))


def _expect(state: DialogState, hint: str) -> Result:
    return state, _say(Reply(hint), prompt(state))


async def _on_type(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    if choice not in {r.value for r in RequestType}:
        return _expect(state, t.CHOICE_EXPECTED)
    state.data["type"] = choice
    return _advance(state)


async def _on_role(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    if choice not in {r.value for r in Role}:
        return _expect(state, t.CHOICE_EXPECTED)
    state.data["role"] = choice
    return _advance(state)


def _text_step(
    field: str, check: Callable[[str], str]
) -> Callable[[Context, DialogState, Incoming, str | None], Awaitable[Result]]:
    async def on_text(
        ctx: Context, state: DialogState, inc: Incoming, choice: str | None
    ) -> Result:
        if choice == "-" and field == "spse_id":
            state.data[field] = None
            return _advance(state)
        if choice == "keep" and _current(state) is not None:
            return _advance(state)  # the ticket's value, already in the data
        if inc.text is None or choice is not None:
            return _expect(state, t.TEXT_EXPECTED)
        state.data[field] = check(inc.text)
        return _advance(state)

    return on_text


async def _on_phone(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    if inc.contact is not None:
        own = inc.contact.user_id is not None and inc.contact.user_id == inc.user_id
        state.data["phone"] = normalize_phone(inc.contact.phone)
        state.data["phone_verified"] = own
        return _advance(state, [] if own else [Reply(t.NOT_OWN_CONTACT)])
    if inc.text is not None:
        state.data["phone"] = normalize_phone(inc.text)
        state.data["phone_verified"] = False
        return _advance(state)
    return _expect(state, t.CONTACT_EXPECTED)


async def _on_document(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    kind = DocumentKind(state.step)
    pages: list[dict[str, object]] = state.data.setdefault("pages", {}).setdefault(kind.value, [])
    if choice == "done":
        if not pages:
            return state, _say(Reply(t.need_pages(kind)), prompt(state))
        return _advance(state)
    if inc.file is None:
        return _expect(state, t.DOCUMENT_EXPECTED)
    if len(pages) >= MAX_PAGES:
        raise InvalidInput(f"Maksimal {MAX_PAGES} file per dokumen. Ketuk Selesai.")
    files = ctx.services.files
    files.check_size(inc.file.size)
    drafts, chat = _draft_uploads(ctx, inc)
    if not await drafts.allows(chat, inc.file.size):
        used, quota = await drafts.usage(chat), drafts.quota
        refusal = t.upload_quota_reached(
            used.files, used.bytes / 1024 / 1024, quota.files, quota.bytes // 1024 // 1024
        )
        return state, _say(Reply(refusal), prompt(state))
    content = await ctx.messenger.download(inc.file.file_id)
    stored = await asyncio.to_thread(  # re-encoding a photo takes a while: not on the loop
        files.keep, content, platform_file_id=inc.file.file_id, original_name=inc.file.name
    )
    await drafts.add(chat, stored)
    pages.append(stored.to_dict())
    return state, _say(prompt(state))


def _draft_uploads(ctx: Context, inc: Incoming) -> tuple[DraftUploads, str]:
    """The chat's uploads into requests not sent yet, and the chat's key for them."""
    drafts = DraftUploads(ctx.services.store, ctx.services.upload_quota)
    return drafts, f"{inc.channel}:{inc.chat_id}"


async def _on_confirm(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    if choice == "change":
        state.step = "field"
        return state, _say(prompt(state))
    if choice == "cancel":
        return DialogState(), _say(Reply(t.DIALOG_CANCELLED, keyboard=Keyboard.REMOVE))
    if choice != "send":
        return _expect(state, t.CHOICE_EXPECTED)
    data = state.data
    try:
        ticket = await ctx.services.tickets.submit(
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, data["name"]),
            identity=_identity(data),
            request_type=RequestType(data["type"]),
            documents=_documents(data),
            update_key=f"{inc.channel}:{inc.update_id}" if inc.update_id else None,
        )
    except TicketError as refused:
        return state, _say(Reply(f"⚠️ {t.e(refused)}"), prompt(state))
    await _release_uploads(ctx, inc, data)
    receipt = _receipt(ctx, ticket)
    if ticket.same_nip_open:
        # Accepted, not refused; the person is told, and the card shows it to the admins.
        # Only this chat's own tickets are named: another account's request stays private.
        own = [
            x
            for x in await _own_tickets(ctx, inc)
            if x.number in ticket.same_nip_open and x.state.is_open
        ]
        receipt += "".join(
            "\n\n" + t.same_nip_open(str(x.number), t.requester_state(x.state, x.outcome))
            for x in reversed(own)
        )
    return DialogState(), _say(Reply(receipt))


def _receipt(ctx: Context, ticket: Ticket) -> str:
    """The ticket number and when the first check is due on the office clock."""
    zone = ctx.services.zone
    policy = ctx.services.tickets.policy
    check = next((r for r in ticket.steps if r.step == Step.CHECK_COMPLETENESS), None)
    due = check.due_at if check and check.due_at else ticket.created_at
    opens = policy.calendar.next_open(ticket.created_at)
    starts = t.clock(opens, zone) if opens > ticket.created_at else None
    standard = policy.standard(Step.CHECK_COMPLETENESS) or 0
    return t.submitted(str(ticket.number), t.clock(due, zone), starts, standard)


async def _on_field(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    if choice not in EDITABLE:
        return _expect(state, t.CHOICE_EXPECTED)
    if choice in ("letter", "sk"):
        state.data["pages"][choice] = []
    state.step = choice
    state.data["editing"] = True
    return state, _say(prompt(state))


async def _on_supplement_confirm(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    if choice == "cancel":
        return _stop_supplement(state)
    if choice != "send":
        return _expect(state, t.CHOICE_EXPECTED)
    data = state.data
    identity = None
    if "name" in data:
        identity = _identity(data)  # role and phone were copied from the ticket
    try:
        ticket = await ctx.services.tickets.supplement(
            ticket_id=int(data["ticket_id"]),
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, inc.user_name),
            documents=_documents(data),
            identity=identity,
        )
    except TicketError as refused:
        return DialogState(), _say(Reply(f"⚠️ {t.e(refused)}"))
    await _release_uploads(ctx, inc, data)
    return DialogState(), _say(Reply(t.supplemented(str(ticket.number))))


def _stop_supplement(state: DialogState) -> Result:
    """Give up a supplement: nothing is sent, the ticket keeps waiting for it."""
    again = Button(
        t.SUPPLEMENT_BUTTON,
        RequesterPayload(RequesterAction.SUPPLEMENT, int(state.data["ticket_id"])).encode(),
    )
    reply = Reply(
        t.supplement_stopped(str(state.data["number"])),
        buttons=((again,),),
        keyboard=Keyboard.REMOVE,
    )
    return DialogState(), _say(reply)


_STEP_HANDLERS: dict[
    str, Callable[[Context, DialogState, Incoming, str | None], Awaitable[Result]]
] = {
    "type": _on_type,
    "role": _on_role,
    "name": _text_step("name", lambda v: clean_text(v, field="Nama", min_len=3)),
    "nip": _text_step("nip", normalize_nip),
    "unit": _text_step("unit", lambda v: clean_text(v, field="Unit kerja", min_len=3)),
    "spse_id": _text_step("spse_id", lambda v: clean_text(v, field="User ID", max_len=100)),
    "email": _text_step("email", normalize_email),
    "phone": _on_phone,
    "letter": _on_document,
    "sk": _on_document,
    "confirm": _on_confirm,
    "field": _on_field,
    "sconfirm": _on_supplement_confirm,
}


def _identity(data: dict[str, object]) -> Identity:
    return Identity(
        name=str(data["name"]),
        nip=str(data["nip"]),
        role=str(data["role"]),
        work_unit=str(data["unit"]),
        email=str(data["email"]),
        spse_user_id=str(data["spse_id"]) if data.get("spse_id") else None,
        phone=str(data["phone"]) if data.get("phone") else None,
        phone_verified=bool(data.get("phone_verified")),
    )


async def _release_uploads(ctx: Context, inc: Incoming, data: dict[str, object]) -> None:
    """The sent request's files belong to its ticket now: no longer the chat's quota."""
    drafts, chat = _draft_uploads(ctx, inc)
    await drafts.release(chat, [doc.file for doc in _documents(data)])


def _documents(data: dict[str, object]) -> list[NewDocument]:
    pages = data.get("pages", {})
    assert isinstance(pages, dict)
    return [
        NewDocument(DocumentKind(kind), StoredFile.from_dict(page))
        for kind in (DocumentKind.LETTER.value, DocumentKind.SK.value)
        for page in pages.get(kind, [])
    ]


# ---- tickets: status, cancel, supplement ---------------------------------------------------


async def _own_tickets(ctx: Context, inc: Incoming) -> list[Ticket]:
    return await ctx.services.tickets.for_requester(channel=inc.channel, chat_id=inc.chat_id)


async def _status(ctx: Context, inc: Incoming, number: str | None = None) -> list[Reply]:
    tickets = await _own_tickets(ctx, inc)
    if number is not None:
        tickets = [x for x in tickets if x.number == number]
        if not tickets:
            return [Reply(t.TICKET_NOT_FOUND)]
    if not tickets:
        return [Reply(t.NO_TICKETS)]
    return [_ticket_status(ctx, ticket) for ticket in tickets[:5]]


def _ticket_status(ctx: Context, ticket: Ticket) -> Reply:
    zone = ctx.services.zone
    lines = [
        f"🎫 <b>{t.e(ticket.number)}</b> · {t.e(t.REQUEST_TYPES[ticket.request_type])}",
        f"Diajukan: {t.clock(ticket.created_at, zone)}",
        f"Status: {t.requester_state(ticket.state, ticket.outcome)}",
    ]
    if ticket.state.is_open:
        lines.append(f"Menunggu: {t.duration(utcnow() - ticket.state_since)}")
        waiting = ticket.open_step
        if (
            waiting is not None
            and waiting.due_at is not None
            and waiting.step != Step.DELIVER_RESULT
        ):
            lines.append(t.admin_due(t.clock(waiting.due_at, zone)))
    if ticket.state == TicketState.INCOMPLETE:
        lines.append("Kurang: " + ", ".join(t.MISSING[MissingItem(m)] for m in ticket.missing))
    if ticket.rejection_reason and ticket.state in (TicketState.REJECTED, TicketState.ARCHIVED):
        lines.append(f"Alasan penolakan: <i>{t.e(ticket.rejection_reason)}</i>")
    buttons: list[Button] = []
    if ticket.state == TicketState.INCOMPLETE:
        buttons.append(supplement_button(ticket))
    if ticket.state.cancellable:
        buttons.append(
            Button(t.CANCEL_TICKET, RequesterPayload(RequesterAction.CANCEL, ticket.id).encode())
        )
    rows = [tuple(buttons)] if buttons else []
    if ticket.state == TicketState.RECEIVED and ticket.outcome is None:
        # The receipt may have scrolled away: the status offers its two answers again.
        rows += confirmation_buttons(ticket)
    return Reply("\n".join(lines), buttons=tuple(rows))


def supplement_button(ticket: Ticket) -> Button:
    """📎 Lengkapi: step 4, sending what the admins found missing."""
    return Button(
        t.SUPPLEMENT_BUTTON, RequesterPayload(RequesterAction.SUPPLEMENT, ticket.id).encode()
    )


def confirmation_buttons(ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    """The receipt's two answers: logged in (and changed the password), or "Bukan saya"."""
    confirm = t.CONFIRM_LOGIN if ticket.request_type.needs_password else t.CONFIRM_LOGIN_USER_ID
    return tuple(
        (Button(label, RequesterPayload(action, ticket.id).encode()),)
        for label, action in (
            (confirm, RequesterAction.CONFIRM_LOGIN),
            (t.NOT_ME, RequesterAction.NOT_ME),
        )
    )


async def _ticket_button(
    ctx: Context, state: DialogState, inc: Incoming, payload: RequesterPayload
) -> Result:
    try:
        ticket = await ctx.services.tickets.get(payload.ticket_id)
    except TicketNotFound:
        return state, Response(toast=t.TICKET_NOT_FOUND, alert=True)
    if (ticket.requester.channel, ticket.requester.chat_id) != (inc.channel, inc.chat_id):
        return state, Response(toast=t.TICKET_NOT_FOUND, alert=True)
    if payload.action is RequesterAction.STATUS:
        return state, _say(_ticket_status(ctx, ticket))
    if payload.action in (RequesterAction.CONFIRM_LOGIN, RequesterAction.NOT_ME):
        return state, await _close_the_loop(ctx, inc, ticket, payload.action)
    if payload.action is RequesterAction.CANCEL:
        if not ticket.state.cancellable:
            return state, Response(toast=t.NOT_CANCELLABLE, alert=True)
        return state, _say(
            Reply(
                t.confirm_cancel(str(ticket.number)),
                buttons=(
                    (
                        Button(
                            t.CANCEL_YES,
                            RequesterPayload(RequesterAction.CANCEL_CONFIRM, ticket.id).encode(),
                        ),
                        Button(
                            t.CANCEL_NO,
                            RequesterPayload(RequesterAction.KEEP, ticket.id).encode(),
                        ),
                    ),
                ),
            )
        )
    if payload.action is RequesterAction.KEEP:
        # Back from "Yakin membatalkan?": the question turns into the ticket's status again.
        status = _ticket_status(ctx, ticket)
        back = Reply(status.text, status.buttons, edit_message_id=inc.message_id)
        return state, _say(back, toast=t.NOT_CANCELLED)
    if payload.action is RequesterAction.CANCEL_CONFIRM:
        try:
            ticket = await ctx.services.tickets.cancel(
                ticket_id=ticket.id,
                channel=inc.channel,
                chat_id=inc.chat_id,
                actor=Actor(inc.actor_id, inc.user_name),
            )
        except TicketError:
            return state, Response(toast=t.NOT_CANCELLABLE, alert=True)
        await archive_quietly(ctx.services, ticket.id)
        stop_supplement = state.flow == "supplement" and state.data.get("ticket_id") == ticket.id
        return (DialogState() if stop_supplement else state), _say(
            Reply(t.cancelled(str(ticket.number)))
        )
    # SUPPLEMENT
    if ticket.state != TicketState.INCOMPLETE:
        return state, Response(toast=t.NOT_INCOMPLETE, alert=True)
    return _start_supplement(ticket)


async def _close_the_loop(
    ctx: Context, inc: Incoming, ticket: Ticket, action: RequesterAction
) -> Response:
    """The receipt's buttons: "logged in and changed it" closes the ticket; "Bukan saya"
    makes it an incident and sends it back to the admins for a new reset."""
    actor = Actor(inc.actor_id, inc.user_name)
    tickets = ctx.services.tickets
    waiting = ticket.state == TicketState.RECEIVED and ticket.outcome is None
    if action is RequesterAction.CONFIRM_LOGIN:
        if ticket.confirmed_at is not None:
            return Response(toast=t.ALREADY_CONFIRMED)
        if not waiting:
            return Response(toast=t.NOT_RECEIVED, alert=True)
        try:
            await tickets.confirm_login(
                ticket_id=ticket.id, channel=inc.channel, chat_id=inc.chat_id, actor=actor
            )
        except TicketError:
            return Response(toast=t.NOT_RECEIVED, alert=True)
        await archive_quietly(ctx.services, ticket.id)
        return _say(Reply(t.login_confirmed(str(ticket.number))))
    if ticket.state != TicketState.RECEIVED:
        if ticket.incidents and ticket.state in (TicketState.VALID, TicketState.DELIVERED):
            return Response(toast=t.INCIDENT_ALREADY, alert=True)
        return Response(toast=t.NOT_RECEIVED, alert=True)
    try:
        await tickets.report_incident(
            ticket_id=ticket.id, channel=inc.channel, chat_id=inc.chat_id, actor=actor
        )
    except TicketError as refused:
        return Response(toast=str(refused), alert=True)
    return _say(Reply(t.incident_ack(str(ticket.number))))


def _start_supplement(ticket: Ticket) -> Result:
    missing = [MissingItem(m) for m in ticket.missing]
    order = [m.value for m in missing if m in (MissingItem.LETTER, MissingItem.SK)]
    if MissingItem.IDENTITY in missing:
        order += IDENTITY_STEPS
    order.append("sconfirm")
    state = DialogState(
        flow="supplement",
        step=order[0],
        data={
            "order": order,
            "pages": {},
            "ticket_id": ticket.id,
            "number": ticket.number,
        },
    )
    if MissingItem.IDENTITY in missing:
        state.data.update(
            {
                "name": ticket.full_name,
                "nip": ticket.nip,
                "unit": ticket.work_unit,
                "spse_id": ticket.spse_user_id,
                "email": ticket.email,
                "role": ticket.role.value,
                "phone": ticket.phone,
                "phone_verified": ticket.phone_verified,
            }
        )
    intro = Reply(t.what_is_missing(str(ticket.number), ticket.missing, ticket.incomplete_note))
    return state, _say(intro, prompt(state))
