"""`/antrian` in the admin group: every open ticket, its step, who holds it, time left."""

from __future__ import annotations

from datetime import datetime

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.messages import Button, Incoming, Reply, Response
from chatbot.conversations.payloads import AdminAction, AdminPayload
from chatbot.db.models import StepRecord, Ticket, utcnow
from chatbot.services.enums import Step
from chatbot.services.people import names_of
from chatbot.services.sla import SlaPolicy

# A Telegram message holds 4096 characters: the oldest tickets first, the rest counted.
MAX_LINES = 25
CARD_BUTTONS_PER_ROW = 3


def time_left(record: StepRecord, policy: SlaPolicy, now: datetime) -> str:
    """'sisa 3 menit', 'lewat 12 menit' (office time) or how long the requester has had."""
    if record.due_at is None:
        return f"menunggu pemohon, sudah {t.duration(now - record.started_at)}"
    if now < record.due_at:
        return f"sisa {t.duration(policy.calendar.between(now, record.due_at))}"
    return f"⏰ lewat {t.duration(policy.calendar.between(record.due_at, now))}"


def queue_text(tickets: list[Ticket], policy: SlaPolicy, now: datetime) -> str:
    if not tickets:
        return t.QUEUE_EMPTY
    lines = [t.queue_title(len(tickets))]
    for ticket in tickets[:MAX_LINES]:
        record = ticket.open_step
        # No open step: the result was opened, the requester's confirmation is awaited.
        step = Step(record.step) if record else Step.DELIVER_RESULT
        names = names_of(ticket)
        holder = (
            (names.of(record.actor_id, record.actor_name) if record else None)
            or names.of(ticket.result_admin_id, ticket.result_admin_name)
            or "-"
        )
        if step in (Step.SUPPLEMENT, Step.DELIVER_RESULT):
            holder = "pemohon"
        left = time_left(record, policy, now) if record else t.QUEUE_CONFIRMING
        if record is None:
            holder = "pemohon"
        lines.append(
            t.queue_line(
                str(ticket.number),
                ticket.full_name[:40],
                int(step),
                holder,
                left,
            )
        )
    if len(tickets) > MAX_LINES:
        lines.append(t.queue_more(len(tickets) - MAX_LINES))
    return "\n".join(lines)


def card_buttons(tickets: list[Ticket]) -> tuple[tuple[Button, ...], ...]:
    """A button per listed ticket, in the lines' order, that brings its card back with its
    buttons (the card may be far up the group, or its buttons no longer answer)."""
    buttons = [
        Button(
            t.card_button(str(ticket.number)),
            AdminPayload(AdminAction.CARD, ticket.id, 0).encode(),
        )
        for ticket in tickets
        if ticket.purged_at is None
    ]
    step = CARD_BUTTONS_PER_ROW
    return tuple(tuple(buttons[i : i + step]) for i in range(0, len(buttons), step))


async def handle_queue(ctx: Context, inc: Incoming, args: str) -> Response:
    if not inc.sender_is_admin:
        return Response(replies=[Reply(t.NOT_ADMIN)])
    tickets = await ctx.services.tickets.open_tickets()
    text = queue_text(tickets, ctx.services.tickets.policy, utcnow())
    return Response(replies=[Reply(text, card_buttons(tickets[:MAX_LINES]))])
