"""The result's hand-over in the admin's private chat (SOP steps 6 and 8): the claim, the form
offer, and the chat fallback where the admin types the user ID or password."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypedDict, cast

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context, Services, admin_actor
from chatbot.conversations.handover import Handover
from chatbot.conversations.messages import Button, DeliveryError, Incoming, Reply, Response
from chatbot.conversations.readiness import ask_ready, must_ask_ready
from chatbot.conversations.state import DialogState
from chatbot.db.models import Ticket
from chatbot.services import passwords
from chatbot.services.enums import TicketState
from chatbot.services.forms import token_hash
from chatbot.services.identity import InvalidInput, clean_text, format_nip

log = logging.getLogger(__name__)

STOP = ("batal", "cancel")


class HandoverData(TypedDict, total=False):
    """The admin's hand-over dialog (`DialogState.data` of flow "admin_result"), typed; the
    keys are those stored before this type existed, so saved dialogs still load."""

    ticket_id: int
    version: int
    number: str
    need: list[str]  # "user_id" and/or "password", in the order asked
    form: str | None  # the hash of the form's token
    sent: list[str]  # private messages already sent: "prompt", "offer", "question"
    user_id: str  # the SPSE user id typed so far


def handover_data(state: DialogState) -> HandoverData:
    """The dialog's data, typed; a view on the same dict, so changes are kept."""
    return cast(HandoverData, state.data)


def _handover(ctx: Context) -> Handover:
    """The hand-over engine: the link goes through the messenger of the requester's channel."""
    return Handover(ctx.services, ctx.messengers, web_app=ctx.services.web_app)


async def start_result(ctx: Context, inc: Incoming, ticket: Ticket) -> Response:
    """Kirim hasil: the hand-over in private, unless the link could not reach the requester
    now (WhatsApp's window closed or closing): then they are asked to say they are ready."""
    if ticket.state == TicketState.VALID and must_ask_ready(ctx, ticket):
        return await ask_ready(ctx, inc, ticket)
    return await claim_result(ctx, inc, ticket)


async def claim_result(ctx: Context, inc: Incoming, ticket: Ticket) -> Response:
    """Ask the admin in private for the result; only then claim the ticket for them.

    Resumable: the private messages already sent are noted in the admin's dialog state, so
    a repeat after a crash midway sends only what is missing, as long as the form sent then
    still works. A form that is gone (expired, used, or from an earlier hand-over) is
    replaced by a fresh one, so every tap ends with a working form.
    """
    if ticket.state != TicketState.VALID:
        # Checked before anything reaches the admin's private chat.
        return Response(
            toast=t.result_not_ready(str(ticket.number), ticket.state, ticket.outcome), alert=True
        )
    dialogs = ctx.services.dialogs
    state = await dialogs.load(inc.channel, inc.user_id)
    held = handover_data(state)
    resumed = state.flow == "admin_result" and held.get("ticket_id") == ticket.id
    if resumed and "offer" in held.get("sent", []):
        grant = await ctx.services.forms.peek_hash(held.get("form") or "")
        if grant is None or (grant.version, grant.admin_id) != (ticket.version, inc.actor_id):
            await _void_form(ctx, state)
            resumed = False
    sent: list[str] = list(held.get("sent", [])) if resumed else []
    if "prompt" not in sent:
        prompt = t.result_prompt(
            str(ticket.number),
            ticket.request_type,
            ticket.full_name,
            format_nip(ticket.nip),
            ticket.spse_user_id,
        )
        try:
            await ctx.messenger.send(inc.user_id, Reply(prompt, protect=True))
        except DeliveryError as failed:
            if failed.permanent:
                return Response(toast=t.START_PRIVATE_FIRST, alert=True)
            raise
        sent.append("prompt")
    claimed = (
        ticket
        if ticket.result_admin_id == admin_actor(inc).id
        else await ctx.services.tickets.claim_result(
            ticket_id=ticket.id, version=ticket.version, actor=admin_actor(inc)
        )
    )
    need = [
        name
        for name, wanted in (
            ("user_id", ticket.request_type.needs_user_id),
            ("password", ticket.request_type.needs_password),
        )
        if wanted
    ]
    if resumed:
        # Keep what the admin already entered (e.g. the user ID) and the step they are at.
        data = held
        data["version"], data["sent"] = claimed.version, sent
    else:
        data = HandoverData(
            ticket_id=ticket.id,
            version=claimed.version,
            number=str(ticket.number),
            need=need,
            form=None,
            sent=sent,
        )
        state = DialogState(flow="admin_result", step=need[0], data=dict(data))
        data = handover_data(state)
    await dialogs.save(inc.channel, inc.user_id, state)
    done = Response(toast="Lanjutkan di chat pribadi dengan bot.")
    if "offer" not in sent:
        stale = data.get("form")
        if stale:  # a form issued before a crash may have reached the admin: void it
            await ctx.services.forms.discard(stale)
        form = await ctx.services.forms.issue(
            ticket_id=ticket.id,
            version=claimed.version,
            number=str(ticket.number),
            need=need,
            admin_id=inc.actor_id,
            admin_user_id=inc.user_id,
            admin_name=inc.user_name,
            channel=inc.channel,
            chat_id=inc.user_id,
        )
        data["form"] = token_hash(form.token)
        await dialogs.save(inc.channel, inc.user_id, state)
        await ctx.messenger.send(inc.user_id, _form_offer(ctx, form.url, form.expires_at))
        sent.append("offer")
        if not await _save_unless_used(ctx, inc, state):
            return done
    if "question" not in sent:
        first = t.ASK_USER_ID if state.step == "user_id" else t.ASK_PASSWORD
        await ctx.messenger.send(inc.user_id, Reply(first))
        sent.append("question")
        await _save_unless_used(ctx, inc, state)
    return done


async def _save_unless_used(ctx: Context, inc: Incoming, state: DialogState) -> bool:
    """Save the hand-over dialog, unless its form was submitted meanwhile (even the moment its
    URL arrived): that submission closed the dialog, and saving must not bring it back.

    Checked after saving, so whichever of this and the submission comes last, the dialog
    ends closed. False when the form is used up.
    """
    dialogs = ctx.services.dialogs
    hashed = handover_data(state).get("form") or ""
    await dialogs.save(inc.channel, inc.user_id, state)
    if await ctx.services.forms.peek_hash(hashed) is not None:
        return True
    now = await dialogs.load(inc.channel, inc.user_id)
    if now.flow == "admin_result" and handover_data(now).get("form") == hashed:
        await dialogs.save(inc.channel, inc.user_id, DialogState())
    return False


def _form_offer(ctx: Context, url: str, expires_at: datetime) -> Reply:
    """The message that brings the admin their hand-over form."""
    text = t.form_offer(t.clock(expires_at, ctx.services.zone))
    if ctx.services.https_links:
        button = Button(t.OPEN_FORM, url=url, web_app=ctx.services.web_app)
        return Reply(text, buttons=((button,),), protect=True)
    # Telegram refuses buttons to plain-http addresses (local trials): the link goes in text.
    return Reply(f"{text}\n\n{t.e(url)}", protect=True)


async def handle_result_entry(
    ctx: Context, state: DialogState, inc: Incoming
) -> tuple[DialogState, Response]:
    """Take the user ID or password the admin types in private while handing a result over."""
    # At the password step every text but /batal is the password (it may start with "/");
    # at the user ID step every text but a command is the user ID.
    holds_password = state.step == "password" and inc.text and inc.command not in STOP
    holds_user_id = state.step == "user_id" and inc.text and inc.command is None
    deleted = False
    if (holds_password or holds_user_id) and inc.message_id:
        # Delete it before anything else can fail.
        try:
            await ctx.messenger.delete(inc.chat_id, inc.message_id)
            deleted = True
        except DeliveryError:
            log.warning("could not delete an admin's %s message", state.step)
    if inc.command in STOP:
        await _void_form(ctx, state)
        return DialogState(), Response(replies=[Reply(t.ADMIN_RESULT_CANCELLED)])
    if inc.text is None or (inc.command is not None and not holds_password):
        ask = t.ASK_PASSWORD if state.step == "password" else t.ASK_USER_ID
        return state, Response(replies=[Reply(t.TEXT_EXPECTED), Reply(ask)])
    if state.step == "user_id":
        return await _take_user_id(ctx, state, inc, inc.text)
    password = inc.text.strip()
    wrong = passwords.problem(password)
    if wrong is not None:
        return state, Response(replies=[Reply(f"⚠️ {t.e(wrong)} Ketik lagi.")])
    return await _deliver(ctx, state, inc, password=password, password_deleted=deleted)


async def _take_user_id(
    ctx: Context, state: DialogState, inc: Incoming, typed: str
) -> tuple[DialogState, Response]:
    """Keep the typed user ID, then ask for the password or hand the result over."""
    try:
        handover_data(state)["user_id"] = clean_text(typed, field="User ID", min_len=2, max_len=100)
    except InvalidInput as bad:
        return state, Response(
            replies=[Reply(f"⚠️ {t.e(t.invalid_input(bad))}"), Reply(t.ASK_USER_ID)]
        )
    if "password" in handover_data(state).get("need", []):
        state.step = "password"
        return state, Response(replies=[Reply(t.ASK_PASSWORD)])
    return await _deliver(ctx, state, inc, password=None)


async def _void_form(ctx: Context, state: DialogState) -> None:
    """Make the dialog's form unusable."""
    form = handover_data(state).get("form")
    if form:
        await ctx.services.forms.discard(form)


async def _deliver(
    ctx: Context,
    state: DialogState,
    inc: Incoming,
    password: str | None,
    *,
    password_deleted: bool = False,
) -> tuple[DialogState, Response]:
    """Hand the typed result over; the dialog ends unless a retry may still work."""
    secret = {
        key: value
        for key, value in (("user_id", handover_data(state).get("user_id")), ("password", password))
        if value
    }
    handed = await _handover(ctx).deliver(
        ticket_id=handover_data(state)["ticket_id"],
        version=handover_data(state)["version"],
        actor=admin_actor(inc),
        secret=secret,
        password_deleted=password_deleted,
    )
    if handed.ok or not handed.retry:
        await _void_form(ctx, state)
        return DialogState(), Response(replies=[Reply(handed.text)])
    return state, Response(replies=[Reply(handed.text)])


async def close_chat_handover(
    services: Services, channel: str, chat_id: str, ticket_id: int
) -> None:
    """End the admin's chat hand-over of this ticket: its form handed the result over.

    Another ticket's hand-over in the same chat is left alone.
    """
    dialogs = services.dialogs
    state = await dialogs.load(channel, chat_id)
    if state.flow == "admin_result" and handover_data(state).get("ticket_id") == ticket_id:
        await dialogs.save(channel, chat_id, DialogState())
