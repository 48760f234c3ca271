"""The Admin Agency's side: taps on ticket cards in the group, replies with notes and reasons,
and the private hand-over of the result (SOP steps 2-8).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from chatbot.conversations import texts as t
from chatbot.conversations.cards import CardView, CardViews, render
from chatbot.conversations.context import Context
from chatbot.conversations.endings import archive_quietly
from chatbot.conversations.handover import Handover
from chatbot.conversations.lookup import handle_archive, handle_search
from chatbot.conversations.messages import Button, DeliveryError, Incoming, Reply, Response
from chatbot.conversations.payloads import AdminAction, AdminPayload, PayloadError, decode
from chatbot.conversations.queue import handle_queue
from chatbot.conversations.reporting import handle_report
from chatbot.conversations.state import DialogState
from chatbot.db.models import Ticket, utcnow
from chatbot.services import passwords
from chatbot.services.enums import MissingItem, TicketState
from chatbot.services.forms import token_hash
from chatbot.services.identity import InvalidInput, clean_text, format_nip
from chatbot.services.outages import is_outage
from chatbot.services.tickets import Actor, StaleMove, TicketError, TicketNotFound

log = logging.getLogger(__name__)

GroupCommand = Callable[[Context, Incoming, str], Awaitable[Response]]

PENDING_TTL = timedelta(hours=2)
NOT_ADMIN_QUIET = timedelta(minutes=10)
STOP = ("batal", "cancel")


def _actor(inc: Incoming) -> Actor:
    return Actor(inc.actor_id, inc.user_name)


def _pending_key(inc: Incoming) -> str:
    return f"pending:{inc.channel}:{inc.chat_id}:{inc.user_id}"


# ---- taps on cards -------------------------------------------------------------------------


async def handle_tap(ctx: Context, inc: Incoming) -> Response:
    """A button on a ticket card: authorise, check it is current, then act."""
    if not inc.in_group or inc.chat_id != ctx.messenger.admin_chat_id or not inc.sender_is_admin:
        return Response(toast=t.NOT_ADMIN, alert=True)
    try:
        payload = decode(inc.button or "")
    except PayloadError:
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    if not isinstance(payload, AdminPayload):
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    try:
        return await _tap(ctx, inc, payload)
    except (ValueError, LookupError) as broken:
        if isinstance(broken, InvalidInput) or is_outage(broken):
            raise
        # A button that decodes but cannot be used: refused at once, rather than retried
        # three times while the group's queue waits, to end in "Maaf, terjadi gangguan".
        log.warning("a tap could not be used (%s)", type(broken).__name__)
        return Response(toast=t.BUTTON_BROKEN, alert=True)


async def _tap(ctx: Context, inc: Incoming, payload: AdminPayload) -> Response:
    tickets = ctx.services.tickets
    try:
        ticket = await tickets.get(payload.ticket_id)
    except TicketNotFound:
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    if payload.action is AdminAction.CARD:
        return await _bring_card(ctx, inc, ticket)
    if payload.action is AdminAction.LATE:
        # Not bound to the ticket's version: the ticket has moved on since the late step.
        try:
            return await _late(ctx, inc, ticket, payload.arg)
        except TicketError as refused:
            return Response(toast=str(refused), alert=True)
    response = await _on_card(ctx, inc, payload, ticket)
    if _elsewhere(ticket, inc):
        response.toast = t.other_card(str(ticket.number), response.toast)
    return response


async def _on_card(ctx: Context, inc: Incoming, payload: AdminPayload, ticket: Ticket) -> Response:
    """A button of the ticket's card (its payload names its ticket and version)."""
    if (
        payload.action is AdminAction.RESULT
        and ticket.state == TicketState.VALID
        and ticket.result_admin_id == _actor(inc).id
    ):
        # This admin holds the claim already: a repeat (or a retry after a crash midway)
        # hands them the way to enter the result again rather than a "stale" refusal.
        return await _claim_result(ctx, inc, ticket)
    if ticket.version != payload.version:
        return _stale(ctx, ticket, inc)
    views = CardViews(ctx.services.store)
    try:
        return await _act(ctx, inc, payload, ticket, views)
    except StaleMove as moved:
        return _stale(ctx, moved.ticket or ticket, inc)
    except TicketError as refused:
        return Response(toast=str(refused), alert=True)


def _card_id(ticket: Ticket, inc: Incoming) -> str | None:
    """The message showing the ticket's card: its own, whichever message was tapped (a
    button of another ticket must never turn this card into that ticket's)."""
    return ticket.admin_message_id or inc.message_id


def _elsewhere(ticket: Ticket, inc: Incoming) -> bool:
    """The tapped button belongs to another message than the ticket's card."""
    return ticket.admin_message_id is not None and ticket.admin_message_id != inc.message_id


def _stale(ctx: Context, ticket: Ticket, inc: Incoming) -> Response:
    """Tell who handled it, and bring the ticket's card up to date."""
    fresh = render(ticket, ctx.services.zone)
    return Response(
        replies=[Reply(fresh.text, fresh.buttons, edit_message_id=_card_id(ticket, inc))],
        toast=t.stale(str(ticket.number), ticket.state, ticket.last_actor_name, ticket.outcome),
        alert=True,
    )


async def _bring_card(ctx: Context, inc: Incoming, ticket: Ticket) -> Response:
    """Send the ticket's card again as the group's newest message, with its current buttons,
    and make it the ticket's card; the old one says where it went."""
    number = str(ticket.number)
    if ticket.purged_at is not None:
        return Response(toast=t.card_purged(number), alert=True)
    old = ticket.admin_message_id
    if old is None:
        # The new-ticket delivery (documents, then the card) has not run yet: a card sent
        # here would make it skip the documents.
        return Response(toast=t.card_not_yet(number), alert=True)
    view = await CardViews(ctx.services.store).get(ticket.id)
    new = await ctx.messenger.send(inc.chat_id, render(ticket, ctx.services.zone, view))
    await ctx.services.tickets.move_card(ticket_id=ticket.id, message_id=new)
    replies = [Reply(t.card_moved(number), edit_message_id=old)] if old != new else []
    return Response(replies=replies, toast=t.card_resent(number))


async def _act(
    ctx: Context, inc: Incoming, payload: AdminPayload, ticket: Ticket, views: CardViews
) -> Response:
    tickets = ctx.services.tickets
    actor = _actor(inc)
    action = payload.action

    async def show(view: CardView, toast: str | None = None) -> Response:
        await views.put(ticket.id, view)
        card = render(ticket, ctx.services.zone, view)
        return Response(
            replies=[Reply(card.text, card.buttons, edit_message_id=_card_id(ticket, inc))],
            toast=toast,
        )

    if action is AdminAction.COMPLETE:
        await tickets.mark_complete(ticket_id=ticket.id, version=ticket.version, actor=actor)
        await views.clear(ticket.id)
        return Response(toast="Ditandai lengkap.")
    if action is AdminAction.INCOMPLETE:
        return await show(CardView(mode="missing"), t.PICK_MISSING)
    if action is AdminAction.TOGGLE:
        view = await views.get(ticket.id)
        item = MissingItem(payload.arg)
        view.mode = "missing"
        view.missing = sorted(set(view.missing) ^ {item.value})
        return await show(view)
    if action is AdminAction.NOTE:
        question = t.ask_note(inc.user_id, inc.user_name, str(ticket.number))
        await _ask_in_group(ctx, inc, ticket, "note", question)
        return Response()
    if action is AdminAction.SEND_INCOMPLETE:
        view = await views.get(ticket.id)
        if not view.missing:
            return Response(toast=t.PICK_MISSING, alert=True)
        if MissingItem.IDENTITY.value in view.missing and not view.note:
            # "Data identitas" alone does not tell the requester which data is wrong.
            return Response(toast=t.IDENTITY_NEEDS_NOTE, alert=True)
        await tickets.mark_incomplete(
            ticket_id=ticket.id,
            version=ticket.version,
            actor=actor,
            missing=[MissingItem(m) for m in view.missing],
            note=view.note,
        )
        await views.clear(ticket.id)
        return Response(toast="Pemohon diminta melengkapi.")
    if action is AdminAction.BACK:
        await views.clear(ticket.id)
        await ctx.services.store.delete(_pending_key(inc))
        return await show(CardView())
    if action is AdminAction.VALID:
        await tickets.mark_valid(ticket_id=ticket.id, version=ticket.version, actor=actor)
        await views.clear(ticket.id)
        return Response(toast="Ditandai valid. Ketuk Kirim hasil setelah reset di SPSE.")
    if action is AdminAction.INVALID:
        return await show(CardView(mode="reasons"), t.PICK_REASON)
    if action is AdminAction.REASON:
        index = int(payload.arg) if payload.arg.isdigit() else -1
        if not 0 <= index < len(t.REJECTION_PRESETS):
            return Response(toast=t.BUTTON_BROKEN, alert=True)
        await _reject(ctx, ticket, actor, t.REJECTION_PRESETS[index])
        await views.clear(ticket.id)
        return Response(toast="Permohonan ditolak; pemohon diberi tahu.")
    if action is AdminAction.REASON_OTHER:
        question = t.ask_reason(inc.user_id, inc.user_name, str(ticket.number))
        await _ask_in_group(ctx, inc, ticket, "reason", question)
        return Response()
    if action is AdminAction.PHONE:
        await tickets.confirm_by_phone(ticket_id=ticket.id, version=ticket.version, actor=actor)
        return Response(toast="Konfirmasi telepon dicatat.")
    if action is AdminAction.REVOKE:
        return await show(CardView(mode="revoke"))
    if action is AdminAction.REVOKE_CONFIRM:
        return await _revoke(ctx, inc, ticket, views)
    return await _claim_result(ctx, inc, ticket)


async def _late(ctx: Context, inc: Incoming, ticket: Ticket, arg: str) -> Response:
    """A cause picked for a late step (or "other": the admin is asked to type it)."""
    record_id, _, choice = arg.partition(".")
    record = next((r for r in ticket.steps if str(r.id) == record_id), None)
    if record is None or not (choice == "x" or (choice.isascii() and choice.isdigit())):
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    if choice == "x":
        if record.late_reason is not None:
            return Response(toast=t.LATE_ALREADY, alert=True)
        if not ctx.services.tickets.may_explain(record, _actor(inc), utcnow()):
            return Response(toast=t.late_not_yours(record.actor_name or "-"), alert=True)
        question = t.ask_late_text(inc.user_id, inc.user_name, str(ticket.number))
        await _ask_in_group(ctx, inc, ticket, "late", question, record=record.id)
        return Response()
    index = int(choice)
    if not 0 <= index < len(t.LATE_PRESETS):
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    ticket, record = await ctx.services.tickets.explain_late(
        record_id=record.id, actor=_actor(inc), reason=t.LATE_PRESETS[index]
    )
    done = t.late_explained(
        str(ticket.number), int(record.step), t.LATE_PRESETS[index], inc.user_name
    )
    return Response(replies=[Reply(done, edit_message_id=inc.message_id)], toast="Dicatat.")


async def _reject(ctx: Context, ticket: Ticket, actor: Actor, reason: str) -> None:
    await ctx.services.tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=actor, reason=reason
    )
    await archive_quietly(ctx.services, ticket.id)


async def _ask_in_group(
    ctx: Context, inc: Incoming, ticket: Ticket, kind: str, question: str, record: int = 0
) -> None:
    """Ask the admin for a text; only a reply to this very question counts as the answer."""
    question_id = await ctx.messenger.send(inc.chat_id, Reply(question, force_reply=True))
    data = {
        "ticket_id": ticket.id,
        "version": ticket.version,
        "kind": kind,
        "question_id": question_id,
        "record": record,
    }
    await ctx.services.store.set(_pending_key(inc), json.dumps(data).encode(), PENDING_TTL)


# ---- replies in the group (notes and reasons) ---------------------------------------------


async def _refuse_member(ctx: Context, inc: Incoming) -> Response:
    """Tell a member who is not an admin, at most once per NOT_ADMIN_QUIET: each answer in
    the group spends its send budget (20 a minute), which new tickets' cards wait on."""
    key = f"told-not-admin:{inc.channel}:{inc.chat_id}:{inc.user_id}"
    if await ctx.services.store.set_if_absent(key, b"1", NOT_ADMIN_QUIET):
        return Response(replies=[Reply(t.NOT_ADMIN)])
    return Response()


async def handle_group_message(ctx: Context, inc: Incoming) -> Response:
    """A command, or a reply to the bot's question, in the group; other talk is left alone."""
    if inc.command == "idgrup":  # helps the operator find TELEGRAM_ADMIN_CHAT_ID
        return Response(replies=[Reply(t.group_id(inc.chat_id))])
    if inc.command and inc.chat_id == ctx.messenger.admin_chat_id:
        if not inc.sender_is_admin:
            return await _refuse_member(ctx, inc)
        command = GROUP_COMMANDS.get(inc.command)
        if command is None:
            return Response(replies=[Reply(t.UNKNOWN_COMMAND)])
        args = (inc.text or "").partition(" ")[2].strip()
        return await command(ctx, inc, args)
    if inc.chat_id != ctx.messenger.admin_chat_id or not inc.replied_to_bot or not inc.text:
        return Response()
    raw = await ctx.services.store.get(_pending_key(inc))
    if raw is None:
        return Response()
    if not inc.sender_is_admin:
        return await _refuse_member(ctx, inc)
    pending = json.loads(raw)
    if inc.reply_to_message_id != pending.get("question_id"):
        return Response()  # a reply to something else is not the answer we asked for
    try:
        text = clean_text(inc.text, field="Teks", min_len=3, max_len=500)
    except InvalidInput as bad:
        return Response(replies=[Reply(f"⚠️ {t.e(bad.reason)}")])
    ticket = await ctx.services.tickets.get(int(pending["ticket_id"]))
    if pending["kind"] == "late":  # not bound to the version: the ticket moved on meanwhile
        try:
            ticket, record = await ctx.services.tickets.explain_late(
                record_id=int(pending["record"]), actor=_actor(inc), reason=text
            )
        except TicketError as refused:
            await ctx.services.store.delete(_pending_key(inc))
            return Response(replies=[Reply(f"⚠️ {t.e(refused)}")])
        await ctx.services.store.delete(_pending_key(inc))
        done = t.late_explained(str(ticket.number), int(record.step), text, inc.user_name)
        question = await ctx.services.tickets.late_question(ticket.id, record.id)
        if question is not None:  # its preset buttons no longer apply
            try:
                await ctx.messenger.edit(inc.chat_id, question, Reply(done))
            except DeliveryError:
                log.warning("could not update the late question of ticket %s", ticket.id)
        return Response(replies=[Reply(done)])
    # The question is dropped only once answered for good: a retry after a failure midway
    # still finds it (the versioned move refuses a second rejection).
    if ticket.version != pending["version"]:
        await ctx.services.store.delete(_pending_key(inc))
        stale = t.stale(str(ticket.number), ticket.state, ticket.last_actor_name, ticket.outcome)
        return Response(replies=[Reply(stale)])
    views = CardViews(ctx.services.store)
    if pending["kind"] == "note":
        view = await views.get(ticket.id)
        view.mode, view.note = "missing", text
        await views.put(ticket.id, view)
        if ticket.admin_message_id:
            await ctx.messenger.edit(
                inc.chat_id, ticket.admin_message_id, render(ticket, ctx.services.zone, view)
            )
        await ctx.services.store.delete(_pending_key(inc))
        return Response(replies=[Reply(t.NOTE_SAVED)])
    try:
        await _reject(ctx, ticket, _actor(inc), text)
    except TicketError as refused:
        await ctx.services.store.delete(_pending_key(inc))
        return Response(replies=[Reply(f"⚠️ {t.e(refused)}")])
    await ctx.services.store.delete(_pending_key(inc))
    await views.clear(ticket.id)
    return Response(replies=[Reply(f"Tiket {t.e(ticket.number)} ditolak; pemohon diberi tahu.")])


# ---- the result, handed over in private (steps 6 and 8) ----------------------------------------


def _handover(ctx: Context) -> Handover:
    return Handover(ctx.services, ctx.messenger, web_app=ctx.services.web_app)


async def _claim_result(ctx: Context, inc: Incoming, ticket: Ticket) -> Response:
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
    resumed = state.flow == "admin_result" and state.data.get("ticket_id") == ticket.id
    if resumed and "offer" in state.data.get("sent", []):
        grant = await ctx.services.forms.peek_hash(str(state.data.get("form") or ""))
        if grant is None or (grant.version, grant.admin_id) != (ticket.version, inc.actor_id):
            await _void_form(ctx, state)
            resumed = False
    sent: list[str] = list(state.data.get("sent", [])) if resumed else []
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
        if ticket.result_admin_id == _actor(inc).id
        else await ctx.services.tickets.claim_result(
            ticket_id=ticket.id, version=ticket.version, actor=_actor(inc)
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
        data = state.data
        data.update(version=claimed.version, sent=sent)
    else:
        data = {
            "ticket_id": ticket.id,
            "version": claimed.version,
            "number": ticket.number,
            "need": need,
            "form": None,
            "sent": sent,
        }
        state = DialogState(flow="admin_result", step=need[0], data=data)
    await dialogs.save(inc.channel, inc.user_id, state)
    done = Response(toast="Lanjutkan di chat pribadi dengan bot.")
    if "offer" not in sent:
        if data.get("form"):  # a form issued before a crash may have reached the admin: void it
            await ctx.services.forms.discard(str(data["form"]))
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
    hashed = str(state.data.get("form") or "")
    await dialogs.save(inc.channel, inc.user_id, state)
    if await ctx.services.forms.peek_hash(hashed) is not None:
        return True
    now = await dialogs.load(inc.channel, inc.user_id)
    if now.flow == "admin_result" and now.data.get("form") == hashed:
        await dialogs.save(inc.channel, inc.user_id, DialogState())
    return False


def _form_offer(ctx: Context, url: str, expires_at: datetime) -> Reply:
    text = t.form_offer(t.clock(expires_at, ctx.services.zone))
    if ctx.services.https_links:
        button = Button(t.OPEN_FORM, url=url, web_app=ctx.services.web_app)
        return Reply(text, buttons=((button,),), protect=True)
    # Telegram refuses buttons to plain-http addresses (local trials): the link goes in text.
    return Reply(f"{text}\n\n{t.e(url)}", protect=True)


async def handle_result_entry(
    ctx: Context, state: DialogState, inc: Incoming
) -> tuple[DialogState, Response]:
    """The admin's private chat while a result is being handed over (the chat fallback)."""
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
        try:
            state.data["user_id"] = clean_text(inc.text, field="User ID", min_len=2, max_len=100)
        except InvalidInput as bad:
            return state, Response(replies=[Reply(f"⚠️ {t.e(bad.reason)}"), Reply(t.ASK_USER_ID)])
        if "password" in state.data["need"]:
            state.step = "password"
            return state, Response(replies=[Reply(t.ASK_PASSWORD)])
        return await _deliver(ctx, state, inc, password=None)
    password = inc.text.strip()
    wrong = passwords.problem(password)
    if wrong is not None:
        return state, Response(replies=[Reply(f"⚠️ {t.e(wrong)} Ketik lagi.")])
    return await _deliver(ctx, state, inc, password=password, password_deleted=deleted)


async def _void_form(ctx: Context, state: DialogState) -> None:
    if state.data.get("form"):
        await ctx.services.forms.discard(str(state.data["form"]))


async def _deliver(
    ctx: Context,
    state: DialogState,
    inc: Incoming,
    password: str | None,
    *,
    password_deleted: bool = False,
) -> tuple[DialogState, Response]:
    secret = {
        key: value
        for key, value in (("user_id", state.data.get("user_id")), ("password", password))
        if value
    }
    handed = await _handover(ctx).deliver(
        ticket_id=int(state.data["ticket_id"]),
        version=int(state.data["version"]),
        actor=_actor(inc),
        secret=secret,
        password_deleted=password_deleted,
    )
    if handed.ok or not handed.retry:
        await _void_form(ctx, state)
        return DialogState(), Response(replies=[Reply(handed.text)])
    return state, Response(replies=[Reply(handed.text)])


# ---- "Batalkan link" ------------------------------------------------------------------------


async def _revoke(ctx: Context, inc: Incoming, ticket: Ticket, views: CardViews) -> Response:
    link = ticket.latest_link
    if link is None:
        return Response(toast=t.LINK_ALREADY_GONE, alert=True)
    if not await ctx.services.vault.withdraw(link.link_hash):
        # Revealed just now, or the store lost it (a Redis restart): the database decides.
        fresh = await ctx.services.tickets.link_status(link.link_hash)
        if fresh is None or fresh.opened_at is not None:
            await views.clear(ticket.id)
            return Response(toast=t.LINK_ALREADY_GONE, alert=True)
    await ctx.services.tickets.revoke_link(
        ticket_id=ticket.id, version=ticket.version, actor=_actor(inc)
    )
    await views.clear(ticket.id)
    return Response(toast=t.LINK_REVOKED, alert=True)


# Commands for the admins in their group (each checks the sender is an admin).
async def _group_help(ctx: Context, inc: Incoming, args: str) -> Response:
    return Response(replies=[Reply(t.ADMIN_HELP)])


GROUP_COMMANDS: dict[str, GroupCommand] = {
    "bantuan": _group_help,
    "antrian": handle_queue,
    "laporan": handle_report,
    "arsip": handle_archive,
    "cari": handle_search,
}
