"""The admin group's messages: commands, and the replies that answer the bot's questions
(a note, a rejection reason, a late step's cause), asked from a card tap."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from chatbot.conversations import texts as t
from chatbot.conversations.cards import CardViews, render
from chatbot.conversations.context import Context, admin_actor
from chatbot.conversations.endings import archive_quietly
from chatbot.conversations.lookup import handle_archive, handle_search
from chatbot.conversations.messages import DeliveryError, Incoming, Reply, Response
from chatbot.conversations.queue import handle_queue
from chatbot.conversations.reporting import handle_report
from chatbot.db.models import Ticket
from chatbot.services.identity import InvalidInput, clean_text
from chatbot.services.tickets import Actor, TicketError

log = logging.getLogger(__name__)

GroupCommand = Callable[[Context, Incoming, str], Awaitable[Response]]

PENDING_TTL = timedelta(hours=2)
NOT_ADMIN_QUIET = timedelta(minutes=10)


def pending_key(inc: Incoming) -> str:
    """Where the question awaiting this admin's reply in this chat is kept."""
    return f"pending:{inc.channel}:{inc.chat_id}:{inc.user_id}"


async def ask_in_group(
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
    await ctx.services.store.set(pending_key(inc), json.dumps(data).encode(), PENDING_TTL)


async def reject_and_archive(ctx: Context, ticket: Ticket, actor: Actor, reason: str) -> None:
    """Reject the ticket with the admin's reason, then archive it (step 9)."""
    await ctx.services.tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=actor, reason=reason
    )
    await archive_quietly(ctx.services, ticket.id)


async def _refuse_member(ctx: Context, inc: Incoming) -> Response:
    """Tell a member who is not an admin, at most once per NOT_ADMIN_QUIET: each answer in
    the group spends its send budget (20 a minute), which new tickets' cards wait on."""
    key = f"told-not-admin:{inc.channel}:{inc.chat_id}:{inc.user_id}"
    if await ctx.services.store.set_if_absent(key, b"1", NOT_ADMIN_QUIET):
        return Response(replies=[Reply(t.NOT_ADMIN)])
    return Response()


async def handle_group_message(ctx: Context, inc: Incoming) -> Response:
    """Answer a command, or a reply to the bot's question, in the group; leave other talk alone."""
    if inc.command == "idgrup":  # helps the operator find TELEGRAM_ADMIN_CHAT_ID
        return Response(replies=[Reply(t.group_id(inc.chat_id))])
    if inc.command and ctx.in_admin_group(inc):
        return await _run_command(ctx, inc, inc.command)
    if not ctx.in_admin_group(inc) or not inc.replied_to_bot or not inc.text:
        return Response()
    return await _answer_question(ctx, inc, inc.text)


async def _run_command(ctx: Context, inc: Incoming, name: str) -> Response:
    """Run an admin's group command, or say it is unknown."""
    if not inc.sender_is_admin:
        return await _refuse_member(ctx, inc)
    command = GROUP_COMMANDS.get(name)
    if command is None:
        return Response(replies=[Reply(t.UNKNOWN_COMMAND)])
    args = (inc.text or "").partition(" ")[2].strip()
    return await command(ctx, inc, args)


async def _answer_question(ctx: Context, inc: Incoming, typed: str) -> Response:
    """Take a reply as the answer to the question pending for this admin, if it is one."""
    raw = await ctx.services.store.get(pending_key(inc))
    if raw is None:
        return Response()
    if not inc.sender_is_admin:
        return await _refuse_member(ctx, inc)
    pending = json.loads(raw)
    if inc.reply_to_message_id != pending.get("question_id"):
        return Response()  # a reply to something else is not the answer we asked for
    return await _take_answer(ctx, inc, pending, typed)


async def _take_answer(
    ctx: Context, inc: Incoming, pending: dict[str, Any], typed: str
) -> Response:
    """Check the typed answer and use it for what was asked."""
    try:
        text = clean_text(typed, field="Teks", min_len=3, max_len=500)
    except InvalidInput as bad:
        return Response(replies=[Reply(f"⚠️ {t.e(t.invalid_input(bad))}")])
    ticket = await ctx.services.tickets.get(int(pending["ticket_id"]))
    if pending["kind"] == "late":  # not bound to the version: the ticket moved on meanwhile
        return await _late_cause(ctx, inc, int(pending["record"]), text)
    # The question is dropped only once answered for good: a retry after a failure midway
    # still finds it (the versioned move refuses a second rejection).
    if ticket.version != pending["version"]:
        await ctx.services.store.delete(pending_key(inc))
        stale = t.stale(str(ticket.number), ticket.state, ticket.last_actor_name, ticket.outcome)
        return Response(replies=[Reply(stale)])
    if pending["kind"] == "note":
        return await _note(ctx, inc, ticket, text)
    return await _reason(ctx, inc, ticket, text)


async def _late_cause(ctx: Context, inc: Incoming, record_id: int, text: str) -> Response:
    """Record the typed cause of a late step, and close its question."""
    try:
        ticket, record = await ctx.services.tickets.explain_late(
            record_id=record_id, actor=admin_actor(inc), reason=text
        )
    except TicketError as refused:
        await ctx.services.store.delete(pending_key(inc))
        return Response(replies=[Reply(f"⚠️ {t.e(t.ticket_error(refused))}")])
    await ctx.services.store.delete(pending_key(inc))
    done = t.late_explained(str(ticket.number), int(record.step), text, inc.user_name)
    question = await ctx.services.tickets.late_question(ticket.id, record.id)
    if question is not None:  # its preset buttons no longer apply
        try:
            await ctx.messenger.edit(inc.chat_id, question, Reply(done))
        except DeliveryError:
            log.warning("could not update the late question of ticket %s", ticket.id)
    return Response(replies=[Reply(done)])


async def _note(ctx: Context, inc: Incoming, ticket: Ticket, text: str) -> Response:
    """Keep the typed note for the requester on the card's "what is missing" view."""
    views = CardViews(ctx.services.store)
    view = await views.get(ticket.id)
    view.mode, view.note = "missing", text
    await views.put(ticket.id, view)
    if ticket.admin_message_id:
        await ctx.messenger.edit(
            inc.chat_id, ticket.admin_message_id, render(ticket, ctx.services.zone, view)
        )
    await ctx.services.store.delete(pending_key(inc))
    return Response(replies=[Reply(t.NOTE_SAVED)])


async def _reason(ctx: Context, inc: Incoming, ticket: Ticket, text: str) -> Response:
    """Reject the ticket with the typed reason (step 7)."""
    try:
        await reject_and_archive(ctx, ticket, admin_actor(inc), text)
    except TicketError as refused:
        await ctx.services.store.delete(pending_key(inc))
        return Response(replies=[Reply(f"⚠️ {t.e(t.ticket_error(refused))}")])
    await ctx.services.store.delete(pending_key(inc))
    await CardViews(ctx.services.store).clear(ticket.id)
    return Response(replies=[Reply(f"Tiket {t.e(ticket.number)} ditolak; pemohon diberi tahu.")])


# Commands for the admins in their group (each checks the sender is an admin).
async def _group_help(ctx: Context, inc: Incoming, args: str) -> Response:
    """Show the admins' commands."""
    return Response(replies=[Reply(t.ADMIN_HELP)])


GROUP_COMMANDS: dict[str, GroupCommand] = {
    "bantuan": _group_help,
    "antrian": handle_queue,
    "laporan": handle_report,
    "arsip": handle_archive,
    "cari": handle_search,
}
