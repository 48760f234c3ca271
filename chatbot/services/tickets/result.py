"""The result (steps 6 and 8): an admin claims the reset, writes the one-time link down, hands
it over; the requester reveals it, confirms the login or reports an incident; an admin may
revoke it. The sweeps that take links back live in `sweeps.py`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from chatbot.db.models import CredentialLink, Ticket
from chatbot.services.enums import Outcome, RequestType, Step
from chatbot.services.notices import NoticeKind
from chatbot.services.tickets.errors import (
    IllegalMove,
    LinkAbandoned,
    NotYours,
    Reason,
    StaleMove,
)
from chatbot.services.tickets.links import mark_link
from chatbot.services.tickets.machine import SYSTEM, Actor, Move, S
from chatbot.services.tickets.records import StepRecords

LINK = CredentialLink

# What step 6 did, by the request's type.
RESET_DONE = {
    RequestType.RESET_PASSWORD: "password_direset",
    RequestType.USER_ID: "user_id_diberikan",
    RequestType.BOTH: "password_direset_dan_user_id",
}


class Result(StepRecords):
    # ---- step 6: the admin's hand-over -------------------------------------------------------

    async def claim_result(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        """An admin takes the reset in SPSE on; they will hand the result in private."""
        async with self._sessions.begin() as session:
            ticket, _ = await self._move(session, ticket_id, version, Move.CLAIM_RESULT, actor)
            ticket.result_admin_id = actor.id
            ticket.result_admin_name = actor.name
            step = self._current(ticket, Step.RESET_IN_SPSE)
            if step is not None:
                step.actor_id, step.actor_name = actor.id, actor.name
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def record_pending_link(
        self,
        *,
        ticket_id: int,
        version: int,
        actor: Actor,
        link_hash: str,
        expires_at: datetime,
    ) -> None:
        """Write the link down before it is sent, so that a link sent but never recorded (a
        crash in between) is still known: `sent_at` stays NULL until `deliver_result`."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.version != version:
                session.expunge(ticket)
                raise StaleMove(Reason.ALREADY_HANDLED, ticket)
            if ticket.state != S.VALID:
                session.expunge(ticket)
                raise IllegalMove(Reason.NOT_AWAITING_RESULT, ticket)
            if ticket.result_admin_id != actor.id:
                session.expunge(ticket)
                raise NotYours(Reason.CLAIMED_BY_OTHER, ticket, who=ticket.result_admin_name)
            now = self._now()
            ticket.links.append(
                CredentialLink(
                    link_hash=link_hash,
                    created_by=actor.name,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            self._audit(
                session,
                ticket,
                actor,
                "link_created",
                link=link_hash[:12],
                expires_at=expires_at.isoformat(),
            )

    async def deliver_result(
        self,
        *,
        ticket_id: int,
        version: int,
        actor: Actor,
        link_hash: str,
        expires_at: datetime,
        message_id: str | None = None,
    ) -> Ticket:
        """Step 6 done, step 8 started: the one-time link has been sent to the requester
        (in the platform's message `message_id`, whose receipts the card shows).

        Completes the link written down by `record_pending_link` (or writes it now); refuses
        with `LinkAbandoned` when the sweep has given that link up meanwhile.
        """
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.result_admin_id != actor.id:
                raise NotYours(Reason.CLAIMED_BY_OTHER, ticket, who=ticket.result_admin_name)
            ticket, now = await self._move(session, ticket_id, version, Move.DELIVER, actor)
            done = RESET_DONE[ticket.request_type]
            ticket.ready_asked_at = ticket.ready_at = None  # a re-issue asks afresh
            self._finish(session, ticket, Step.RESET_IN_SPSE, actor, now, done)
            self._open(
                session,
                ticket,
                Step.DELIVER_RESULT,
                now,
                actor=actor,
                note="link sekali pakai dikirim",
            )
            pending = next((x for x in ticket.links if x.link_hash == link_hash), None)
            if pending is None:
                ticket.links.append(
                    CredentialLink(
                        link_hash=link_hash,
                        created_by=actor.name,
                        created_at=now,
                        expires_at=expires_at,
                        sent_at=now,
                        message_id=message_id,
                    )
                )
                self._audit(
                    session,
                    ticket,
                    actor,
                    "link_created",
                    link=link_hash[:12],
                    expires_at=expires_at.isoformat(),
                )
            # Conditional: of this and the sweep that gives unrecorded links up, one wins.
            elif not await mark_link(
                session,
                pending.id,
                LINK.sent_at.is_(None),
                LINK.revoked_at.is_(None),
                sent_at=now,
                message_id=message_id,
            ):
                raise LinkAbandoned(Reason.LINK_ABANDONED, ticket)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def abandon_link(self, link_hash: str) -> bool:
        """A link whose sending or recording failed: dead from now on (the page says it was
        cancelled, never 404). True when this call marked it."""
        async with self._sessions.begin() as session:
            marked = await session.execute(
                update(LINK)
                .where(
                    LINK.link_hash == link_hash,
                    LINK.sent_at.is_(None),
                    LINK.revoked_at.is_(None),
                )
                .values(revoked_at=self._now(), revoked_by=SYSTEM.name)
                .execution_options(synchronize_session=False)
            )
            return bool(marked.rowcount)  # type: ignore[attr-defined]

    async def revoke_link(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        """An admin cancels the link before it is opened; the ticket waits for a re-issue.

        The caller deletes the ciphertext from the store first (atomically, so a reveal and a
        revoke cannot both win) and calls this only when that succeeded.
        """
        async with self._sessions.begin() as session:
            ticket, now = await self._move(session, ticket_id, version, Move.REVOKE_LINK, actor)
            link = ticket.latest_link
            if link is not None and link.opened_at is None:
                link.revoked_at, link.revoked_by = now, actor.name
            self._link_died(session, ticket, actor, now, "link_dibatalkan")
            self._audit(session, ticket, actor, "link_revoked")
            self._notify(session, ticket, "requester", NoticeKind.LINK_REVOKED)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    # ---- step 8: the requester's side --------------------------------------------------------

    async def mark_received(self, *, link_hash: str) -> Ticket | None:
        """The requester revealed the secret: step 8's output ("diterima oleh PPK").

        First, in its own transaction, the link is marked opened (a conditional UPDATE, so it
        is recorded even if the state move below loses a race with a revoke or the expiry
        sweep: the secret did leave). Then the ticket moves and the receipt is queued.
        None when the link is unknown or was already marked, or the move was not possible.
        """
        now = self._now()
        async with self._sessions.begin() as session:
            opened = await session.execute(
                update(LINK)
                .where(LINK.link_hash == link_hash, LINK.opened_at.is_(None))
                .values(opened_at=now)
                .returning(LINK.ticket_id)
                .execution_options(synchronize_session=False)
            )
            ticket_id = opened.scalar_one_or_none()
            if ticket_id is None:
                return None
            ticket = await self._load(session, ticket_id)
            requester = self._requester_actor(ticket)
            self._audit(session, ticket, requester, "link_revealed", link=link_hash[:12])
        try:
            async with self._sessions.begin() as session:
                ticket = await self._load(session, ticket_id)
                link = ticket.latest_link
                if ticket.state != S.DELIVERED or link is None or link.link_hash != link_hash:
                    raise IllegalMove(Reason.NOT_NOW, ticket)
                ticket, at = await self._move(
                    session, ticket.id, ticket.version, Move.RECEIVE, requester
                )
                ticket.confirm_reminders = 0
                self._finish(session, ticket, Step.DELIVER_RESULT, None, at, "diterima_pemohon")
                self._notify(session, ticket, "requester", NoticeKind.RECEIVED)
                self._notify(session, ticket, "admins", NoticeKind.CARD)
        except (StaleMove, IllegalMove) as lost:
            async with self._sessions.begin() as session:
                ticket = await self._load(session, ticket_id)
                self._audit(session, ticket, SYSTEM, "link_revealed_late", reason=lost.reason.value)
                self._notify(session, ticket, "admins", NoticeKind.CARD)
            return None
        return await self.get(ticket_id)

    async def confirm_login(
        self, *, ticket_id: int, channel: str, chat_id: str, actor: Actor
    ) -> Ticket:
        """The requester logged in to SPSE and changed the password: the ticket may close."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            self._check_owner(ticket, channel, chat_id)
            ticket, now = await self._move(
                session, ticket_id, ticket.version, Move.CONFIRM_LOGIN, actor
            )
            if ticket.confirmed_at is None:
                ticket.confirmed_at = now
                ticket.outcome = Outcome.COMPLETED
                ticket.closed_at = now
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def report_incident(
        self, *, ticket_id: int, channel: str, chat_id: str, actor: Actor
    ) -> Ticket:
        """The requester's "Bukan saya": someone else opened the link. Back to step 6."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            self._check_owner(ticket, channel, chat_id)
            if ticket.outcome is not None:  # confirmed, or closed unconfirmed
                raise IllegalMove(Reason.ALREADY_CLOSED, ticket)
            link = ticket.latest_link
            opened = link.opened_at.isoformat() if link and link.opened_at else None
            ticket, now = await self._move(
                session, ticket_id, ticket.version, Move.INCIDENT, actor, opened_at=opened
            )
            ticket.incidents += 1
            ticket.confirm_reminders = 0
            ticket.result_admin_id = ticket.result_admin_name = None
            self._open(session, ticket, Step.RESET_IN_SPSE, now, note="reset ulang: insiden")
            self._notify(session, ticket, "admins", NoticeKind.INCIDENT)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)
