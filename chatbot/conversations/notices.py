"""What each notice says and to whom: one renderer per `NoticeKind`.

A renderer reads the queued row and its ticket and answers with what to deliver (a message
to a chat, the card, a round of documents) or None when nothing is left to tell; how it is
delivered, retried and recorded is the sender's (`pipeline/sender.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatbot.conversations import texts as t
from chatbot.conversations.context import Services
from chatbot.conversations.messages import Button, Reply
from chatbot.conversations.payloads import AdminAction, AdminPayload
from chatbot.conversations.readiness import ready_notice
from chatbot.conversations.requester import confirmation_buttons, supplement_button
from chatbot.db.models import OutboxMessage, Ticket, utcnow
from chatbot.services.enums import TicketState
from chatbot.services.notices import NoticeKind
from chatbot.services.people import names_of


@dataclass(frozen=True)
class Send:
    """One message to one chat: the admin group when `chat` is None."""

    reply: Reply
    chat: str | None = None
    reply_to: str | None = None  # a message of that chat to answer (the ticket's card)
    edit: str | None = None  # a message of that chat to edit instead of sending anew


@dataclass(frozen=True)
class Card:
    """The ticket's card in the admin group, edited in place (posted anew if deleted)."""


@dataclass(frozen=True)
class FirstCard:
    """A new ticket's documents in the admin group, then its first card as their reply."""

    round: int


@dataclass(frozen=True)
class Documents:
    """A round of supplemented documents in the admin group, as a reply to the card."""

    round: int
    reply_to: str | None


Notice = Send | Card | FirstCard | Documents


@dataclass(frozen=True)
class NoticeContext:
    """What a renderer may read: the row, its ticket, and the services' settings."""

    row: OutboxMessage
    services: Services
    ticket_or_none: Ticket | None = None
    sealed_reply: Reply | None = None  # a queued reply's content, opened by the sender

    @property
    def ticket(self) -> Ticket:
        if self.ticket_or_none is None:
            raise ValueError(f"a {self.row.kind} row without its ticket")
        return self.ticket_or_none

    @property
    def chat(self) -> str:
        """The requester's chat the row was queued for."""
        return str(self.row.chat_id)

    @property
    def to_admins(self) -> bool:
        return self.row.audience == "admins"


Renderer = Callable[[NoticeContext], Notice | None]


class UnknownNotice(ValueError):
    """A row whose kind (or audience for its kind) no renderer knows."""


def _reply(ctx: NoticeContext) -> Notice:
    reply = ctx.sealed_reply
    if reply is None or ctx.row.chat_id is None:
        raise ValueError("a reply row without its sealed content")
    return Send(reply, chat=ctx.row.chat_id, edit=reply.edit_message_id)


def _new_ticket(ctx: NoticeContext) -> Notice | None:
    if ctx.ticket.admin_message_id is not None:
        return None  # the card is out already
    return FirstCard(int(ctx.row.payload["round"]))


def _supplement(ctx: NoticeContext) -> Notice | None:
    round_ = int(ctx.row.payload["round"])
    if not any(doc.round == round_ for doc in ctx.ticket.documents):
        return None  # an identity-only supplement: the card shows it
    return Documents(round_, ctx.ticket.admin_message_id)


def _card(ctx: NoticeContext) -> Notice:
    return Card()


def _alert(text: Callable[[str], str]) -> Renderer:
    """An alert to the admin group, as a reply to the ticket's card."""

    def render(ctx: NoticeContext) -> Notice:
        if not ctx.to_admins:
            raise UnknownNotice(f"{ctx.row.kind} is for the admins")
        ticket = ctx.ticket
        return Send(Reply(text(str(ticket.number))), reply_to=ticket.admin_message_id)

    return render


def _unreachable(ctx: NoticeContext) -> Notice:
    """The admins' alert, naming the platform that refused: the requester's channel."""
    if not ctx.to_admins:
        raise UnknownNotice(f"{ctx.row.kind} is for the admins")
    ticket = ctx.ticket
    if ctx.row.payload.get("held"):  # no template for a notice: it waits, nothing refused
        text = t.held_alert(str(ticket.number))
    else:
        text = t.unreachable_alert(str(ticket.number), ticket.requester.channel)
    return Send(Reply(text), reply_to=ticket.admin_message_id)


def _incident(ctx: NoticeContext) -> Notice:
    if not ctx.to_admins:
        raise UnknownNotice("incident is for the admins")
    ticket = ctx.ticket
    link = next((x for x in reversed(ticket.links) if x.opened_at is not None), None)
    opened = t.clock(link.opened_at, ctx.services.zone) if link and link.opened_at else None
    text = t.incident_alert(str(ticket.number), opened, None)
    return Send(Reply(text), reply_to=ticket.admin_message_id)


def _for_requester(ctx: NoticeContext) -> None:
    if ctx.row.audience != "requester":
        raise UnknownNotice(f"{ctx.row.kind} is for the requester")


def _to_requester(text: Callable[[Ticket], str]) -> Renderer:
    """A text only notice to the requester."""

    def render(ctx: NoticeContext) -> Notice:
        _for_requester(ctx)
        return Send(Reply(text(ctx.ticket)), chat=ctx.chat)

    return render


def _requester_or_admins(requester: Renderer, admins: Renderer) -> Renderer:
    """A kind told both ways: the requester's notice and the admins' alert."""
    return lambda ctx: admins(ctx) if ctx.to_admins else requester(ctx)


def _incomplete(ctx: NoticeContext) -> Notice:
    ticket = ctx.ticket
    reply = Reply(
        t.incomplete_notice(str(ticket.number), ticket.missing, ticket.incomplete_note),
        buttons=((supplement_button(ticket),),),
    )
    return Send(reply, chat=ctx.chat)


def _supplement_reminder(ctx: NoticeContext) -> Notice | None:
    ticket = ctx.ticket
    if ticket.state != TicketState.INCOMPLETE:
        return None  # supplemented or closed while it waited: nothing to remind of
    expires = ticket.state_since + ctx.services.supplement_expire_after
    reply = Reply(
        t.supplement_reminder(
            str(ticket.number), ticket.missing, t.clock(expires, ctx.services.zone)
        ),
        buttons=((supplement_button(ticket),),),
    )
    return Send(reply, chat=ctx.chat)


def _received(ctx: NoticeContext) -> Notice:
    """The receipt, with its two answers (logged in and changed it / not received)."""
    _for_requester(ctx)
    ticket = ctx.ticket
    link = ticket.latest_link
    opened = link.opened_at if link and link.opened_at else ticket.state_since
    text = t.received_receipt(
        str(ticket.number), t.clock(opened, ctx.services.zone), ticket.request_type.needs_password
    )
    return Send(Reply(text, buttons=confirmation_buttons(ticket)), chat=ctx.chat)


def _confirm_reminder(ctx: NoticeContext) -> Notice:
    _for_requester(ctx)
    ticket = ctx.ticket
    text = t.confirm_reminder(str(ticket.number), ticket.request_type.needs_password)
    return Send(Reply(text, buttons=confirmation_buttons(ticket)), chat=ctx.chat)


def _result_ready(ctx: NoticeContext) -> Notice | None:
    """To the requester: tap "Siap menerima" (its template outside the window); to the
    admins: they did. Nothing once the ticket no longer waits for its result."""
    ticket = ctx.ticket
    if ticket.state != TicketState.VALID:
        return None
    if ctx.to_admins:
        return Send(Reply(t.ready_alert(str(ticket.number))), reply_to=ticket.admin_message_id)
    _for_requester(ctx)
    return Send(ready_notice(ticket), chat=ctx.chat)


def _late_buttons(ticket_id: int, record_id: int) -> tuple[tuple[Button, ...], ...]:
    """The preset causes of a late step, one per row, then "other (type it)"."""

    def tap(choice: str) -> str:
        return AdminPayload(AdminAction.LATE, ticket_id, 0, f"{record_id}.{choice}").encode()

    presets = [(Button(label, tap(str(i))),) for i, label in enumerate(t.LATE_PRESETS)]
    return (*presets, (Button(t.LATE_OTHER, tap("x")),))


def _late_reason(ctx: NoticeContext) -> Notice | None:
    """The question why a step was late, to the admin who finished it, with preset causes."""
    ticket, payload = ctx.ticket, ctx.row.payload
    record = next((r for r in ticket.steps if r.id == payload.get("record")), None)
    if record is None or record.standard_minutes is None:
        return None
    user_id = str(payload["actor_id"]).split(":", 1)[-1]
    question = t.ask_late_reason(
        user_id,
        str(payload["actor_name"]),
        str(ticket.number),
        int(record.step),
        int(payload["minutes"]),
        record.standard_minutes,
    )
    reply = Reply(question, buttons=_late_buttons(ticket.id, record.id))
    return Send(reply, reply_to=ticket.admin_message_id)


def _overdue(ctx: NoticeContext) -> Notice | None:
    """A step past its standard (step_overdue) or its escalation, while it is still open."""
    ticket = ctx.ticket
    record = next((r for r in ticket.steps if r.id == ctx.row.payload.get("record")), None)
    if record is None or record.standard_minutes is None:
        return None
    if record.finished_at is not None or not ticket.state.is_open:
        return None  # finished after the sweep queued it: nothing to remind of
    number, step, zone = str(ticket.number), int(record.step), ctx.services.zone
    holder = names_of(ticket).of(record.actor_id, record.actor_name) or ticket.result_admin_name
    if ctx.row.kind == NoticeKind.STEP_OVERDUE:
        text = t.step_overdue(
            number, step, record.standard_minutes, t.clock(record.started_at, zone), holder
        )
        return Send(Reply(text), reply_to=ticket.admin_message_id)
    used = ctx.services.tickets.policy.used(record.started_at, utcnow())
    text = t.escalation(number, step, record.standard_minutes, t.duration(used), holder)
    if ctx.row.audience == "supervisor" and ctx.row.chat_id:
        return Send(Reply(text), chat=str(ctx.row.chat_id))
    return Send(Reply(text), reply_to=ticket.admin_message_id)


RENDERERS: dict[NoticeKind, Renderer] = {
    NoticeKind.NEW_TICKET: _new_ticket,
    NoticeKind.SUPPLEMENT: _supplement,
    NoticeKind.CARD: _card,
    NoticeKind.INCIDENT: _incident,
    NoticeKind.LINK_EXPIRED: _requester_or_admins(
        _to_requester(lambda ticket: t.link_expired_notice(str(ticket.number))),
        _alert(t.link_expired_alert),
    ),
    NoticeKind.LINK_LOST: _requester_or_admins(
        _to_requester(lambda ticket: t.link_lost_notice(str(ticket.number))),
        _alert(t.link_lost_alert),
    ),
    NoticeKind.LINK_UNSENT: _alert(t.link_unsent_alert),
    NoticeKind.UNREACHABLE: _unreachable,
    NoticeKind.STEP_OVERDUE: _overdue,
    NoticeKind.ESCALATION: _overdue,
    NoticeKind.LATE_REASON: _late_reason,
    NoticeKind.INCOMPLETE: _incomplete,
    NoticeKind.SUPPLEMENT_REMINDER: _supplement_reminder,
    NoticeKind.REJECTED: _to_requester(
        lambda ticket: t.rejected_notice(str(ticket.number), ticket.rejection_reason or "-")
    ),
    NoticeKind.EXPIRED: _to_requester(lambda ticket: t.expired_notice(str(ticket.number))),
    NoticeKind.LINK_REVOKED: _to_requester(
        lambda ticket: t.link_revoked_notice(str(ticket.number))
    ),
    NoticeKind.RECEIVED: _received,
    NoticeKind.CONFIRM_REMINDER: _confirm_reminder,
    NoticeKind.CLOSED_UNCONFIRMED: _to_requester(
        lambda ticket: t.closed_unconfirmed(str(ticket.number))
    ),
    NoticeKind.RESULT_READY: _result_ready,
    NoticeKind.REPLY: _reply,
}


def render(ctx: NoticeContext) -> Notice | None:
    """What to deliver for a row; UnknownNotice when its kind has no renderer."""
    try:
        kind = NoticeKind(ctx.row.kind)
    except ValueError:
        raise UnknownNotice(f"unknown kind {ctx.row.kind}") from None
    return RENDERERS[kind](ctx)
