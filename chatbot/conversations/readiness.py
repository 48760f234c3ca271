"""Ready to receive (WhatsApp): the one-time link's key must never wait in a queue, so when
an admin taps Kirim hasil while the requester's 24-hour window is closed or closing, no
hand-over starts; the requester is asked to tap "Siap menerima" (a template outside the
window), and once they have, the window is open and the next Kirim hasil hands over as
usual. Telegram requesters (no window) are never asked."""

from __future__ import annotations

from datetime import timedelta

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context, admin_actor
from chatbot.conversations.messages import Button, Incoming, Reply, Response, WindowedMessenger
from chatbot.conversations.messengers import UnknownChannel
from chatbot.conversations.payloads import RequesterAction, RequesterPayload
from chatbot.conversations.state import DialogState
from chatbot.db.models import Ticket, utcnow
from chatbot.services.reply_window import inbound_time, window_closing
from chatbot.services.tickets import Actor, TicketError

# A second Kirim hasil this soon after asking does not ask again (a double tap, an admin
# who did not read the toast); later it does (the requester may have missed the first).
ASK_AGAIN_AFTER = timedelta(hours=1)


def requester_window(ctx: Context, ticket: Ticket) -> timedelta | None:
    """The reply window of the requester's channel; None where there is none (Telegram)."""
    try:
        messenger = ctx.messengers.of(ticket.requester.channel)
    except UnknownChannel:
        return None  # not run here: the hand-over's own send says why it cannot go
    return messenger.window if isinstance(messenger, WindowedMessenger) else None


def must_ask_ready(ctx: Context, ticket: Ticket) -> bool:
    """The requester's window is closed or closing: the link would not get through."""
    window = requester_window(ctx, ticket)
    return window is not None and window_closing(ticket.requester.last_inbound_at, window)


async def ask_ready(ctx: Context, inc: Incoming, ticket: Ticket) -> Response:
    """Ask the requester to tap "Siap menerima"; tell the admin to wait for ✅ on the card."""
    number = str(ticket.number)
    asked = ticket.ready_asked_at
    if asked is not None and ticket.ready_at is None and utcnow() - asked < ASK_AGAIN_AFTER:
        return Response(toast=t.ready_still_waiting(number), alert=True)
    await ctx.services.tickets.ask_ready(
        ticket_id=ticket.id, version=ticket.version, actor=admin_actor(inc)
    )
    return Response(toast=t.ready_asked_toast(number), alert=True)


def ready_button(ticket: Ticket) -> Button:
    return Button(t.READY_BUTTON, RequesterPayload(RequesterAction.READY, ticket.id).encode())


def ready_notice(ticket: Ticket) -> Reply:
    """The rich "hasil siap dikirim" message; its button's data is the template's payload."""
    return Reply(t.result_ready_notice(str(ticket.number)), buttons=((ready_button(ticket),),))


async def requester_ready(
    ctx: Context, state: DialogState, inc: Incoming, ticket: Ticket
) -> tuple[DialogState, Response]:
    """The requester tapped "Siap menerima" (the template's quick reply or the button)."""
    number = str(ticket.number)
    if ticket.ready_at is not None and not must_ask_ready(ctx, ticket):
        return state, Response(replies=[Reply(t.ready_already(number))])
    try:
        await ctx.services.tickets.mark_ready(
            ticket_id=ticket.id,
            channel=inc.channel,
            chat_id=inc.chat_id,
            actor=Actor(inc.actor_id, inc.user_name),
            at=min(inbound_time() or utcnow(), utcnow()),
        )
    except TicketError:
        return state, Response(replies=[Reply(t.ready_not_waiting(number))])
    return state, Response(replies=[Reply(t.ready_thanks(number))])
