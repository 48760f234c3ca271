"""Taps on ticket cards in the admin group: each button's action on its ticket (SOP steps 2-8)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatbot.conversations import texts as t
from chatbot.conversations.cards import CardView, CardViews, render
from chatbot.conversations.context import Context, admin_actor
from chatbot.conversations.group_replies import ask_in_group, pending_key, reject_and_archive
from chatbot.conversations.messages import Incoming, Reply, Response
from chatbot.conversations.payloads import AdminAction, AdminPayload, PayloadError, decode
from chatbot.conversations.result_handover import start_result
from chatbot.db.models import Ticket, utcnow
from chatbot.services.enums import MissingItem, TicketState
from chatbot.services.identity import InvalidInput
from chatbot.services.outages import is_outage
from chatbot.services.tickets import Actor, StaleMove, TicketError, TicketNotFound

log = logging.getLogger(__name__)


async def handle_tap(ctx: Context, inc: Incoming) -> Response:
    """Authorise a tap on a ticket card, check that the card is current, then act on it."""
    if not ctx.in_admin_group(inc) or not inc.sender_is_admin:
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
    """Find the payload's ticket and route the tap to its action."""
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
            return Response(toast=t.ticket_error(refused), alert=True)
    response = await _on_card(ctx, inc, payload, ticket)
    if _elsewhere(ticket, inc):
        response.toast = t.other_card(str(ticket.number), response.toast)
    return response


async def _on_card(ctx: Context, inc: Incoming, payload: AdminPayload, ticket: Ticket) -> Response:
    """A button of the ticket's card (its payload names its ticket and version)."""
    if (
        payload.action is AdminAction.RESULT
        and ticket.state == TicketState.VALID
        and ticket.result_admin_id == admin_actor(inc).id
    ):
        # This admin holds the claim already: a repeat (or a retry after a crash midway)
        # hands them the way to enter the result again rather than a "stale" refusal.
        return await start_result(ctx, inc, ticket)
    if ticket.version != payload.version:
        return _stale(ctx, ticket, inc)
    views = CardViews(ctx.services.store)
    try:
        return await _act(ctx, inc, payload, ticket, views)
    except StaleMove as moved:
        return _stale(ctx, moved.ticket or ticket, inc)
    except TicketError as refused:
        return Response(toast=t.ticket_error(refused), alert=True)


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


@dataclass(frozen=True)
class Tap:
    """A tap on a current card: who tapped which button of which ticket."""

    ctx: Context
    inc: Incoming
    payload: AdminPayload
    ticket: Ticket
    views: CardViews

    @property
    def actor(self) -> Actor:
        return admin_actor(self.inc)

    async def show(self, view: CardView, toast: str | None = None) -> Response:
        """Keep the card's picking view and redraw the card with it."""
        await self.views.put(self.ticket.id, view)
        card = render(self.ticket, self.ctx.services.zone, view)
        edit = _card_id(self.ticket, self.inc)
        return Response(replies=[Reply(card.text, card.buttons, edit_message_id=edit)], toast=toast)


CardAction = Callable[[Tap], Awaitable[Response]]


async def _act(
    ctx: Context, inc: Incoming, payload: AdminPayload, ticket: Ticket, views: CardViews
) -> Response:
    """Do what the card's button says, on the ticket's current version."""
    return await CARD_ACTIONS[payload.action](Tap(ctx, inc, payload, ticket, views))


async def _complete(tap: Tap) -> Response:
    """Mark the documents complete (step 2)."""
    ticket = tap.ticket
    await tap.ctx.services.tickets.mark_complete(
        ticket_id=ticket.id, version=ticket.version, actor=tap.actor
    )
    await tap.views.clear(ticket.id)
    return Response(toast="Ditandai lengkap.")


async def _pick_missing(tap: Tap) -> Response:
    """Show the list of what may be missing."""
    return await tap.show(CardView(mode="missing"), t.PICK_MISSING)


async def _toggle_missing(tap: Tap) -> Response:
    """Tick or untick one missing item."""
    view = await tap.views.get(tap.ticket.id)
    item = MissingItem(tap.payload.arg)
    view.mode = "missing"
    view.missing = sorted(set(view.missing) ^ {item.value})
    return await tap.show(view)


async def _ask_note(tap: Tap) -> Response:
    """Ask the admin to type a note for the requester."""
    inc, ticket = tap.inc, tap.ticket
    question = t.ask_note(inc.user_id, inc.user_name, str(ticket.number))
    await ask_in_group(tap.ctx, inc, ticket, "note", question)
    return Response()


async def _send_incomplete(tap: Tap) -> Response:
    """Ask the requester to complete what was ticked (step 3)."""
    ticket = tap.ticket
    view = await tap.views.get(ticket.id)
    if not view.missing:
        return Response(toast=t.PICK_MISSING, alert=True)
    if MissingItem.IDENTITY.value in view.missing and not view.note:
        # "Data identitas" alone does not tell the requester which data is wrong.
        return Response(toast=t.IDENTITY_NEEDS_NOTE, alert=True)
    await tap.ctx.services.tickets.mark_incomplete(
        ticket_id=ticket.id,
        version=ticket.version,
        actor=tap.actor,
        missing=[MissingItem(m) for m in view.missing],
        note=view.note,
    )
    await tap.views.clear(ticket.id)
    return Response(toast="Pemohon diminta melengkapi.")


async def _back(tap: Tap) -> Response:
    """Drop the picking view and any question asked, and show the plain card."""
    await tap.views.clear(tap.ticket.id)
    await tap.ctx.services.store.delete(pending_key(tap.inc))
    return await tap.show(CardView())


async def _valid(tap: Tap) -> Response:
    """Mark the request valid (step 5)."""
    ticket = tap.ticket
    await tap.ctx.services.tickets.mark_valid(
        ticket_id=ticket.id, version=ticket.version, actor=tap.actor
    )
    await tap.views.clear(ticket.id)
    return Response(toast="Ditandai valid. Ketuk Kirim hasil setelah reset di SPSE.")


async def _pick_reason(tap: Tap) -> Response:
    """Show the preset rejection reasons."""
    return await tap.show(CardView(mode="reasons"), t.PICK_REASON)


async def _reject_with_preset(tap: Tap) -> Response:
    """Reject with the picked preset reason (step 7)."""
    arg = tap.payload.arg
    index = int(arg) if arg.isdigit() else -1
    if not 0 <= index < len(t.REJECTION_PRESETS):
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    await reject_and_archive(tap.ctx, tap.ticket, tap.actor, t.REJECTION_PRESETS[index])
    await tap.views.clear(tap.ticket.id)
    return Response(toast="Permohonan ditolak; pemohon diberi tahu.")


async def _ask_reason(tap: Tap) -> Response:
    """Ask the admin to type the rejection reason."""
    inc, ticket = tap.inc, tap.ticket
    question = t.ask_reason(inc.user_id, inc.user_name, str(ticket.number))
    await ask_in_group(tap.ctx, inc, ticket, "reason", question)
    return Response()


async def _phone(tap: Tap) -> Response:
    """Note that the requester was confirmed by phone."""
    ticket = tap.ticket
    await tap.ctx.services.tickets.confirm_by_phone(
        ticket_id=ticket.id, version=ticket.version, actor=tap.actor
    )
    return Response(toast="Konfirmasi telepon dicatat.")


async def _confirm_revoke(tap: Tap) -> Response:
    """Ask whether to cancel the link."""
    return await tap.show(CardView(mode="revoke"))


async def _revoke_link(tap: Tap) -> Response:
    """Cancel the link ("Ya, batalkan link")."""
    return await _revoke(tap.ctx, tap.inc, tap.ticket, tap.views)


async def _claim(tap: Tap) -> Response:
    """Start handing the result over in private ("Kirim hasil"), or ask the requester
    whose window is closed or closing to say they are ready first."""
    return await start_result(tap.ctx, tap.inc, tap.ticket)


# What each card button does; CARD and LATE are not bound to a version, so they are answered
# before the version check (`_tap`).
CARD_ACTIONS: dict[AdminAction, CardAction] = {
    AdminAction.COMPLETE: _complete,
    AdminAction.INCOMPLETE: _pick_missing,
    AdminAction.TOGGLE: _toggle_missing,
    AdminAction.NOTE: _ask_note,
    AdminAction.SEND_INCOMPLETE: _send_incomplete,
    AdminAction.BACK: _back,
    AdminAction.VALID: _valid,
    AdminAction.INVALID: _pick_reason,
    AdminAction.REASON: _reject_with_preset,
    AdminAction.REASON_OTHER: _ask_reason,
    AdminAction.PHONE: _phone,
    AdminAction.REVOKE: _confirm_revoke,
    AdminAction.REVOKE_CONFIRM: _revoke_link,
    AdminAction.RESULT: _claim,
}


async def _late(ctx: Context, inc: Incoming, ticket: Ticket, arg: str) -> Response:
    """A cause picked for a late step (or "other": the admin is asked to type it)."""
    record_id, _, choice = arg.partition(".")
    record = next((r for r in ticket.steps if str(r.id) == record_id), None)
    if record is None or not (choice == "x" or (choice.isascii() and choice.isdigit())):
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    if choice == "x":
        if record.late_reason is not None:
            return Response(toast=t.LATE_ALREADY, alert=True)
        if not ctx.services.tickets.may_explain(record, admin_actor(inc), utcnow()):
            return Response(toast=t.late_not_yours(record.actor_name or "-"), alert=True)
        question = t.ask_late_text(inc.user_id, inc.user_name, str(ticket.number))
        await ask_in_group(ctx, inc, ticket, "late", question, record=record.id)
        return Response()
    index = int(choice)
    if not 0 <= index < len(t.LATE_PRESETS):
        return Response(toast=t.BUTTON_BROKEN, alert=True)
    ticket, record = await ctx.services.tickets.explain_late(
        record_id=record.id, actor=admin_actor(inc), reason=t.LATE_PRESETS[index]
    )
    done = t.late_explained(
        str(ticket.number), int(record.step), t.LATE_PRESETS[index], inc.user_name
    )
    return Response(replies=[Reply(done, edit_message_id=inc.message_id)], toast="Dicatat.")


async def _revoke(ctx: Context, inc: Incoming, ticket: Ticket, views: CardViews) -> Response:
    """Withdraw the ticket's unopened one-time link ("Batalkan link")."""
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
        ticket_id=ticket.id, version=ticket.version, actor=admin_actor(inc)
    )
    await views.clear(ticket.id)
    return Response(toast=t.LINK_REVOKED, alert=True)
