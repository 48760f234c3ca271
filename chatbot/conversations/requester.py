"""The requester's private chat: the menu, commands, status, cancel and the receipt's buttons.

The intake and supplement dialogs themselves are one table of steps in `intake.py`; this
module routes an Incoming to them or to a ticket button.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from chatbot.conversations import intake
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
from chatbot.conversations.readiness import requester_ready
from chatbot.conversations.state import DialogState
from chatbot.db.models import Ticket, utcnow
from chatbot.services.enums import MissingItem, Step, TicketState
from chatbot.services.tickets import (
    Actor,
    TicketError,
    TicketNotFound,
    parse_ticket_number,
)

log = logging.getLogger(__name__)

Result = intake.Result


def _choice(step: str, value: str, label: str) -> Button:
    return Button(label, DialogPayload(step, value).encode())


def _say(*replies: Reply, toast: str | None = None) -> Response:
    return Response(replies=list(replies), toast=toast)


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
    return await COMMANDS.get(command, _unknown_command)(ctx, state, inc)


def _reprompt(state: DialogState) -> list[Reply]:
    """The question of the dialog in progress, asked again after an aside."""
    return [] if state.idle else [intake.prompt(state)]


async def _start(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Shows the menu, or asks whether to continue the dialog in progress."""
    return state, _say(_menu() if state.idle else _continue_or_restart())


async def _cancel(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Stops the dialog in progress (a supplement keeps its ticket waiting)."""
    if state.idle:
        return state, _say(Reply(t.NOTHING_TO_CANCEL))
    if state.flow == "supplement":
        return intake.stop_supplement(state)
    return DialogState(), _say(Reply(t.DIALOG_CANCELLED, keyboard=Keyboard.REMOVE))


async def _help(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Explains the service, then asks the pending question again."""
    return state, _say(Reply(t.HELP), *_reprompt(state))


async def _status_command(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Shows the requester's tickets, then asks the pending question again."""
    return state, _say(*await _status(ctx, inc), *_reprompt(state))


async def _new_request(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Starts the intake, unless a dialog is in progress."""
    if not state.idle:
        return state, _say(_continue_or_restart())
    return intake.start_intake(inc)


async def _unknown_command(ctx: Context, state: DialogState, inc: Incoming) -> Result:
    """Says what the bot understands, then asks the pending question again."""
    return state, _say(Reply(t.IDLE_HINT), *_reprompt(state))


COMMANDS: dict[str, Callable[[Context, DialogState, Incoming], Awaitable[Result]]] = {
    "start": _start,
    "mulai": _start,
    "menu": _start,
    "batal": _cancel,
    "cancel": _cancel,
    "bantuan": _help,
    "help": _help,
    "status": _status_command,
    "ajukan": _new_request,
    "baru": _new_request,
}


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
        return state, _say(intake.prompt(state))
    if value in ("restart", "submit") and (value == "restart" or state.idle):
        return intake.start_intake(inc)
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
            new_state, response = intake.start_supplement(waiting[0])
            if intake.takes_files(new_state):
                return await _answer(ctx, new_state, inc)
            return new_state, response
    if inc.other is not None:
        return state, _say(Reply(t.UNSUPPORTED + "\n" + t.IDLE_HINT))
    return state, _say(_menu())


async def _answer(
    ctx: Context, state: DialogState, inc: Incoming, choice: str | None = None
) -> Result:
    if state.step not in intake.STEP:
        return DialogState(), _say(_menu())
    return await intake.answer(ctx, state, inc, choice)


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
    return tuple(
        (Button(label, RequesterPayload(action, ticket.id).encode()),)
        for label, action in (
            (t.CONFIRM_LOGIN, RequesterAction.CONFIRM_LOGIN),
            (t.NOT_ME, RequesterAction.NOT_ME),
        )
    )


async def _ticket_button(
    ctx: Context, state: DialogState, inc: Incoming, payload: RequesterPayload
) -> Result:
    """A button under one of the requester's own tickets (another chat's: not found)."""
    try:
        ticket = await ctx.services.tickets.get(payload.ticket_id)
    except TicketNotFound:
        return state, _not_found(payload)
    if (ticket.requester.channel, ticket.requester.chat_id) != (inc.channel, inc.chat_id):
        return state, _not_found(payload)
    return await TICKET_BUTTONS[payload.action](ctx, state, inc, ticket)


def _not_found(payload: RequesterPayload) -> Response:
    """Not this chat's ticket. "Siap menerima" is tapped on WhatsApp, which has no toasts:
    its answer is a message."""
    if payload.action is RequesterAction.READY:
        return _say(Reply(t.TICKET_NOT_FOUND))
    return Response(toast=t.TICKET_NOT_FOUND, alert=True)


async def _show_status(ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket) -> Result:
    """Shows the ticket's status."""
    return state, _say(_ticket_status(ctx, ticket))


async def _ask_cancel(ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket) -> Result:
    """Asks "Yakin membatalkan?" with Ya / Kembali."""
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


async def _keep(ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket) -> Result:
    """Back from "Yakin membatalkan?": the question turns into the ticket's status again."""
    status = _ticket_status(ctx, ticket)
    back = Reply(status.text, status.buttons, edit_message_id=inc.message_id)
    return state, _say(back, toast=t.NOT_CANCELLED)


async def _confirm_cancel(
    ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket
) -> Result:
    """Cancels the ticket (and a supplement of it in progress), then archives it."""
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


async def _supplement(ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket) -> Result:
    """📎 Lengkapi: starts the supplement of an incomplete ticket."""
    if ticket.state != TicketState.INCOMPLETE:
        return state, Response(toast=t.NOT_INCOMPLETE, alert=True)
    return intake.start_supplement(ticket)


async def _confirm_login(ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket) -> Result:
    """The receipt's "logged in and changed it": closes the ticket, then archives it."""
    if ticket.confirmed_at is not None:
        return state, Response(toast=t.ALREADY_CONFIRMED)
    if not (ticket.state == TicketState.RECEIVED and ticket.outcome is None):
        return state, Response(toast=t.NOT_RECEIVED, alert=True)
    try:
        await ctx.services.tickets.confirm_login(
            ticket_id=ticket.id,
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, inc.user_name),
        )
    except TicketError:
        return state, Response(toast=t.NOT_RECEIVED, alert=True)
    await archive_quietly(ctx.services, ticket.id)
    return state, _say(Reply(t.login_confirmed(str(ticket.number))))


async def _not_me(ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket) -> Result:
    """The receipt's "Bukan saya": an incident, the ticket back to the admins for a new
    reset."""
    if ticket.state != TicketState.RECEIVED:
        if ticket.incidents and ticket.state in (TicketState.VALID, TicketState.DELIVERED):
            return state, Response(toast=t.INCIDENT_ALREADY, alert=True)
        return state, Response(toast=t.NOT_RECEIVED, alert=True)
    try:
        await ctx.services.tickets.report_incident(
            ticket_id=ticket.id,
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, inc.user_name),
        )
    except TicketError as refused:
        return state, Response(toast=t.ticket_error(refused), alert=True)
    return state, _say(Reply(t.incident_ack(str(ticket.number))))


TICKET_BUTTONS: dict[
    RequesterAction, Callable[[Context, DialogState, Incoming, Ticket], Awaitable[Result]]
] = {
    RequesterAction.STATUS: _show_status,
    RequesterAction.CANCEL: _ask_cancel,
    RequesterAction.KEEP: _keep,
    RequesterAction.CANCEL_CONFIRM: _confirm_cancel,
    RequesterAction.SUPPLEMENT: _supplement,
    RequesterAction.CONFIRM_LOGIN: _confirm_login,
    RequesterAction.NOT_ME: _not_me,
    RequesterAction.READY: requester_ready,
}
