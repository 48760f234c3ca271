"""The requester's intake dialog as one table of steps, and the supplement that reuses it.

Each row of `STEPS` is one thing the person does (name, the label of "Ubah data", the
question, the input it accepts, the handler). The step order of a new request, the fields
that can be changed, the prompts and the dispatch are all read from that table. The draft
it fills is typed in `draft.py`. Over 400 lines on purpose: the table, its prompts and its
handlers are one dialog and are read together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import cast

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.draft import (
    Draft,
    documents_of,
    draft,
    draft_uploads,
    identity_of,
    page_counts,
    release_uploads,
)
from chatbot.conversations.messages import Button, Incoming, Keyboard, Reply, Response
from chatbot.conversations.payloads import DialogPayload, RequesterAction, RequesterPayload
from chatbot.conversations.state import DialogState
from chatbot.db.models import Ticket
from chatbot.services.enums import DocumentKind, MissingItem, RequestType, Role, Step
from chatbot.services.identity import (
    InputProblem,
    InvalidInput,
    clean_text,
    format_nip,
    normalize_email,
    normalize_nip,
    normalize_phone,
)
from chatbot.services.tickets import Actor, TicketError

MAX_PAGES = 20

Result = tuple[DialogState, Response]


class Accepts(StrEnum):
    """What a step takes as its answer."""

    CHOICE = "choice"  # a button of the step
    TEXT = "text"  # typed text (or the step's Lewati / keep button)
    CONTACT = "contact"  # a shared contact, or the number typed
    FILES = "files"  # PDF or photos, then Selesai


Handler = Callable[[Context, DialogState, Incoming, str | None], Awaitable[Result]]
# A step's answer that the sender's platform already gives (the draft keys it fills); None:
# the step is asked.
Known = Callable[[Incoming], Draft | None]


@dataclass(frozen=True)
class IntakeStep:
    name: str  # the stored step name and button payload step: never rename
    label: str | None  # the "Ubah data" button; None: not a field of the request
    ask: Callable[[DialogState], Reply]
    accepts: Accepts
    handle: Handler
    in_request: bool = True  # part of a new request's order (not the edit/supplement steps)
    identity: bool = False  # asked again when a supplement must correct the identity
    known: Known | None = None  # filled from the platform instead of asked, when it can be


def _choice(step: str, value: str, label: str) -> Button:
    return Button(label, DialogPayload(step, value).encode())


def _say(*replies: Reply, toast: str | None = None) -> Response:
    return Response(replies=list(replies), toast=toast)


# ---- prompts -------------------------------------------------------------------------------


def prompt(state: DialogState) -> Reply:
    """The question of the current step."""
    row = STEP.get(state.step)
    return _numbered(state, row.ask(state)) if row is not None else Reply(t.IDLE_HINT)


def _numbered(state: DialogState, question: Reply) -> Reply:
    """A new request's "Langkah N/M" counts the steps of this person's order (a step their
    platform answered, such as a WhatsApp sender's phone, is not in it); the summary, the
    order's last, has no number."""
    if state.flow != "intake":
        return question
    steps = draft(state).get("order", [])[:-1]
    if state.step not in steps:
        return question
    text = t.step_numbered(question.text, steps.index(state.step) + 1, len(steps))
    return replace(question, text=text)


def _ask_type(state: DialogState) -> Reply:
    return Reply(
        t.ASK_TYPE,
        buttons=tuple(
            (_choice("type", rt.value, label),) for rt, label in t.REQUEST_TYPE_BUTTONS.items()
        ),
    )


def _ask_role(state: DialogState) -> Reply:
    return Reply(
        t.ASK_ROLE,
        buttons=tuple((_choice("role", r.value, label),) for r, label in t.ROLE_BUTTONS.items()),
    )


def _ask_name(state: DialogState) -> Reply:
    prefix = t.SUPPLEMENT_IDENTITY if state.flow == "supplement" else ""
    return _with_current(state, Reply(prefix + t.ASK_NAME))


def _ask_nip(state: DialogState) -> Reply:
    return _with_current(state, Reply(t.ASK_NIP))


def _ask_unit(state: DialogState) -> Reply:
    return _with_current(state, Reply(t.ASK_UNIT))


def _ask_spse_id(state: DialogState) -> Reply:
    return _with_current(state, Reply(t.ASK_SPSE_ID, buttons=((_choice("spse_id", "-", t.SKIP),),)))


def _ask_email(state: DialogState) -> Reply:
    return _with_current(state, Reply(t.ASK_EMAIL))


def _ask_phone(state: DialogState) -> Reply:
    question = t.ASK_PHONE_ON.get(draft(state).get("channel", ""), t.ASK_PHONE)
    return Reply(question, keyboard=Keyboard.SHARE_CONTACT)


def _ask_pages(state: DialogState) -> Reply:
    kind = DocumentKind(state.step)
    pages = len(draft(state).get("pages", {}).get(state.step, []))
    if pages:
        return Reply(
            t.page_received(kind, pages), buttons=((_choice(state.step, "done", t.DONE),),)
        )
    return Reply(t.ask_document(kind, INTAKE.index(state.step) + 1), keyboard=Keyboard.REMOVE)


def _ask_confirm(state: DialogState) -> Reply:
    return Reply(
        t.summary(cast(dict[str, object], draft(state)), page_counts(state)),
        buttons=(
            (_choice("confirm", "send", t.CONFIRM_SEND),),
            (_choice("confirm", "change", t.CHANGE), _choice("confirm", "cancel", t.CANCEL)),
        ),
    )


def _ask_field(state: DialogState) -> Reply:
    asked = draft(state)["order"]
    rows = [_choice("field", key, label) for key, label in EDITABLE.items() if key in asked]
    return Reply(
        t.PICK_FIELD, buttons=tuple(tuple(rows[i : i + 2]) for i in range(0, len(rows), 2))
    )


def _ask_supplement_confirm(state: DialogState) -> Reply:
    return Reply(
        _supplement_summary(state),
        buttons=(
            (
                _choice("sconfirm", "send", t.SUPPLEMENT_SEND),
                _choice("sconfirm", "cancel", t.CANCEL),
            ),
        ),
    )


def _current(state: DialogState) -> str | None:
    """In a supplement, the value the ticket holds for this identity step (to keep it)."""
    row = STEP.get(state.step)
    if state.flow != "supplement" or row is None or not row.identity:
        return None
    value = state.data.get(state.step)  # identity steps are named as their Draft keys
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


def _supplement_summary(state: DialogState) -> str:
    data = draft(state)
    lines = [f"<b>Kelengkapan tiket {t.e(data['number'])}</b>"]
    for kind, count in page_counts(state).items():
        lines.append(f"{t.DOCUMENT_SHORT[DocumentKind(kind)]}: {count} file")
    if "name" in data:
        lines += [
            f"Nama: {t.e(data['name'])}",
            f"NIP: <code>{t.e(format_nip(str(data['nip'])))}</code>",
            f"Unit kerja: {t.e(data['unit'])}",
            f"User ID SPSE: {t.e(data.get('spse_id') or '(tidak diisi)')}",
            f"Email: {t.e(data['email'])}",
        ]
    return "\n".join([*lines, "", t.SUPPLEMENT_CONFIRM])


# ---- starting and answering ----------------------------------------------------------------


def start_intake(inc: Incoming) -> Result:
    """Open a new request at its first step. A step whose answer the sender's platform
    already gives (`IntakeStep.known`) is filled from it and left out of the order."""
    data: Draft = {"pages": {}, "channel": inc.channel}
    order: list[str] = []
    for row in STEPS:
        if not row.in_request:
            continue
        given = row.known(inc) if row.known is not None else None
        if given is None:
            order.append(row.name)
        else:
            data.update(given)
    data["order"] = order
    state = DialogState(flow="intake", step=order[0], data=dict(data))
    return state, _say(prompt(state))


def start_supplement(ticket: Ticket) -> Result:
    """Ask for what the admins found missing: the documents, then the identity if named."""
    missing = [MissingItem(m) for m in ticket.missing]
    order = [m.value for m in missing if m in (MissingItem.LETTER, MissingItem.SK)]
    if MissingItem.IDENTITY in missing:
        order += IDENTITY_STEPS
    order.append("sconfirm")
    data: Draft = {"order": order, "pages": {}, "ticket_id": ticket.id, "number": ticket.number}
    if MissingItem.IDENTITY in missing:
        data.update(
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
    state = DialogState(flow="supplement", step=order[0], data=dict(data))
    intro = Reply(t.what_is_missing(str(ticket.number), ticket.missing, ticket.incomplete_note))
    return state, _say(intro, prompt(state))


def stop_supplement(state: DialogState) -> Result:
    """Give up a supplement: nothing is sent, the ticket keeps waiting for it."""
    data = draft(state)
    again = Button(
        t.SUPPLEMENT_BUTTON,
        RequesterPayload(RequesterAction.SUPPLEMENT, int(data["ticket_id"])).encode(),
    )
    reply = Reply(
        t.supplement_stopped(str(data["number"])),
        buttons=((again,),),
        keyboard=Keyboard.REMOVE,
    )
    return DialogState(), _say(reply)


def takes_files(state: DialogState) -> bool:
    """Whether the current step takes documents (a file sent while idle can start there)."""
    row = STEP.get(state.step)
    return row is not None and row.accepts is Accepts.FILES


async def answer(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None = None
) -> Result:
    """Hand the input to the current step's handler; bad input re-asks with the reason."""
    try:
        return await STEP[state.step].handle(ctx, state, inc, choice)
    except InvalidInput as bad:
        return state, _say(Reply(f"⚠️ {t.e(t.invalid_input(bad))}"), prompt(state))


def _advance(state: DialogState, extra: list[Reply] | None = None) -> Result:
    """Go to the next step (or back to the summary after an edit) and ask its question."""
    data = draft(state)
    order = data["order"]
    if data.pop("editing", False):
        state.step = order[-1]
    else:
        state.step = order[order.index(state.step) + 1]
    return state, _say(*(extra or []), prompt(state))


def _expect(state: DialogState, hint: str) -> Result:
    return state, _say(Reply(hint), prompt(state))


def _typed(state: DialogState, inc: Incoming, choice: str | None) -> str | Result:
    """The text typed at a text step, or the step's answer when it was a keep tap or no text."""
    if choice == "keep" and _current(state) is not None:
        return _advance(state)  # the ticket's value, already in the data
    if inc.text is None or choice is not None:
        return _expect(state, t.TEXT_EXPECTED)
    return inc.text


# ---- the handlers, one per thing the person does -------------------------------------------


async def choose_type(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    """Stores the request type and asks for the role."""
    if choice not in {r.value for r in RequestType}:
        return _expect(state, t.CHOICE_EXPECTED)
    draft(state)["type"] = choice
    return _advance(state)


async def choose_role(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    """Stores the role and asks for the name."""
    if choice not in {r.value for r in Role}:
        return _expect(state, t.CHOICE_EXPECTED)
    draft(state)["role"] = choice
    return _advance(state)


async def give_name(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    """Stores the name and asks for the NIP."""
    text = _typed(state, inc, choice)
    if not isinstance(text, str):
        return text
    draft(state)["name"] = clean_text(text, field="Nama", min_len=3)
    return _advance(state)


async def give_nip(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    """Stores the NIP and asks for the work unit."""
    text = _typed(state, inc, choice)
    if not isinstance(text, str):
        return text
    draft(state)["nip"] = normalize_nip(text)
    return _advance(state)


async def give_unit(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    """Stores the work unit and asks for the SPSE user id."""
    text = _typed(state, inc, choice)
    if not isinstance(text, str):
        return text
    draft(state)["unit"] = clean_text(text, field="Unit kerja", min_len=3)
    return _advance(state)


async def give_spse_id(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    """Stores the SPSE user id (or none, with Lewati) and asks for the e-mail address."""
    if choice == "-":
        draft(state)["spse_id"] = None
        return _advance(state)
    text = _typed(state, inc, choice)
    if not isinstance(text, str):
        return text
    draft(state)["spse_id"] = clean_text(text, field="User ID", max_len=100)
    return _advance(state)


async def give_email(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    """Stores the e-mail address and asks for the phone number."""
    text = _typed(state, inc, choice)
    if not isinstance(text, str):
        return text
    draft(state)["email"] = normalize_email(text)
    return _advance(state)


def sender_phone(inc: Incoming) -> Draft | None:
    """The sender's own number when their platform vouches for it (on WhatsApp the number
    that writes is the person's): verified, not asked."""
    if inc.sender_phone is None:
        return None
    try:
        return {"phone": normalize_phone(inc.sender_phone), "phone_verified": True}
    except InvalidInput:
        return None  # a number we cannot read: asked as on any other channel


async def share_phone(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    """Stores the phone number (verified if the contact is the person's own) and asks for the
    letter."""
    data = draft(state)
    if inc.contact is not None:
        own = inc.contact.user_id is not None and inc.contact.user_id == inc.user_id
        data["phone"] = normalize_phone(inc.contact.phone)
        data["phone_verified"] = own
        return _advance(state, [] if own else [Reply(t.not_own_contact(inc.channel))])
    if inc.text is not None:
        data["phone"] = normalize_phone(inc.text)
        data["phone_verified"] = False
        return _advance(state)
    return _expect(state, t.CONTACT_EXPECTED_ON.get(inc.channel, t.CONTACT_EXPECTED))


async def send_pages(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    """Keeps one page of the document; with Selesai, asks the next step's question."""
    kind = DocumentKind(state.step)
    pages = draft(state).setdefault("pages", {}).setdefault(kind.value, [])
    if choice == "done":
        if not pages:
            return state, _say(Reply(t.need_pages(kind)), prompt(state))
        return _advance(state)
    if inc.file is None:
        return _expect(state, t.DOCUMENT_EXPECTED)
    if len(pages) >= MAX_PAGES:
        raise InvalidInput(InputProblem.TOO_MANY_PAGES, max_pages=MAX_PAGES)
    files = ctx.services.files
    files.check_size(inc.file.size)
    drafts, chat = draft_uploads(ctx, inc)
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


async def confirm_request(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    """Sends the request and gives its receipt, or opens "Ubah data", or drops the draft."""
    if choice == "change":
        state.step = "field"
        return state, _say(prompt(state))
    if choice == "cancel":
        return DialogState(), _say(Reply(t.DIALOG_CANCELLED, keyboard=Keyboard.REMOVE))
    if choice != "send":
        return _expect(state, t.CHOICE_EXPECTED)
    data = draft(state)
    try:
        ticket = await ctx.services.tickets.submit(
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, data["name"]),
            identity=identity_of(data),
            request_type=RequestType(data["type"]),
            documents=documents_of(data),
            update_key=f"{inc.channel}:{inc.update_id}" if inc.update_id else None,
        )
    except TicketError as refused:
        return state, _say(Reply(f"⚠️ {t.e(t.ticket_error(refused))}"), prompt(state))
    await release_uploads(ctx, inc, data)
    receipt = _receipt(ctx, ticket)
    if ticket.same_nip_open:
        # Accepted, not refused; the person is told, and the card shows it to the admins.
        # Only this chat's own tickets are named: another account's request stays private.
        mine = await ctx.services.tickets.for_requester(channel=inc.channel, chat_id=inc.chat_id)
        own = [x for x in mine if x.number in ticket.same_nip_open and x.state.is_open]
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


async def pick_field(ctx: Context, state: DialogState, inc: Incoming, choice: str | None) -> Result:
    """Opens the picked field's step again; its answer leads back to the summary."""
    row = STEP.get(choice or "")
    data = draft(state)
    if row is None or row.label is None or row.name not in data["order"]:
        return _expect(state, t.CHOICE_EXPECTED)
    if row.accepts is Accepts.FILES:
        data["pages"][row.name] = []
    state.step = row.name
    data["editing"] = True
    return state, _say(prompt(state))


async def confirm_supplement(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None
) -> Result:
    """Sends what was missing to the admins, or gives the supplement up."""
    if choice == "cancel":
        return stop_supplement(state)
    if choice != "send":
        return _expect(state, t.CHOICE_EXPECTED)
    data = draft(state)
    identity = None
    if "name" in data:
        identity = identity_of(data)  # role and phone were copied from the ticket
    try:
        ticket = await ctx.services.tickets.supplement(
            ticket_id=int(data["ticket_id"]),
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, inc.user_name),
            documents=documents_of(data),
            identity=identity,
        )
    except TicketError as refused:
        return DialogState(), _say(Reply(f"⚠️ {t.e(t.ticket_error(refused))}"))
    await release_uploads(ctx, inc, data)
    return DialogState(), _say(Reply(t.supplemented(str(ticket.number))))


# ---- the table -----------------------------------------------------------------------------

# A new request's steps in order (the "Langkah N/M" of each is its place in the person's
# order: these, less the steps their platform answered), then the steps reached from a
# summary. The button labels of "Ubah data" are the rows' labels.
STEPS: tuple[IntakeStep, ...] = (
    IntakeStep("type", "Jenis permohonan", _ask_type, Accepts.CHOICE, choose_type),
    IntakeStep("role", "Jabatan", _ask_role, Accepts.CHOICE, choose_role),
    IntakeStep("name", "Nama", _ask_name, Accepts.TEXT, give_name, identity=True),
    IntakeStep("nip", "NIP", _ask_nip, Accepts.TEXT, give_nip, identity=True),
    IntakeStep("unit", "Unit kerja", _ask_unit, Accepts.TEXT, give_unit, identity=True),
    IntakeStep("spse_id", "User ID SPSE", _ask_spse_id, Accepts.TEXT, give_spse_id, identity=True),
    IntakeStep("email", "Email", _ask_email, Accepts.TEXT, give_email, identity=True),
    IntakeStep("phone", "Nomor HP", _ask_phone, Accepts.CONTACT, share_phone, known=sender_phone),
    IntakeStep("letter", "Surat permohonan", _ask_pages, Accepts.FILES, send_pages),
    IntakeStep("sk", "SK", _ask_pages, Accepts.FILES, send_pages),
    IntakeStep("confirm", None, _ask_confirm, Accepts.CHOICE, confirm_request),
    IntakeStep("field", None, _ask_field, Accepts.CHOICE, pick_field, in_request=False),
    IntakeStep(
        "sconfirm",
        None,
        _ask_supplement_confirm,
        Accepts.CHOICE,
        confirm_supplement,
        in_request=False,
    ),
)
STEP = {row.name: row for row in STEPS}
INTAKE = tuple(row.name for row in STEPS if row.in_request)
IDENTITY_STEPS = [row.name for row in STEPS if row.identity]
EDITABLE = {row.name: row.label for row in STEPS if row.label is not None}
