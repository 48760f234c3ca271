"""The SOP as a ticket state machine: one door for every move, each move on the record.

Every use case opens its own transaction: the state change, its SOP step records, the audit
event and the outbox rows for the notifications it causes commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import (
    AuditEvent,
    CredentialLink,
    Document,
    OutboxMessage,
    Requester,
    StepRecord,
    Ticket,
    utcnow,
)
from chatbot.services.documents import StoredFile
from chatbot.services.enums import (
    OPEN_STATES,
    DocumentKind,
    MissingItem,
    Outcome,
    RequestType,
    Role,
    Step,
    TicketState,
)
from chatbot.services.identity import Identity
from chatbot.services.notices import NoticeKind
from chatbot.services.office_hours import OfficeCalendar
from chatbot.services.sla import DEFAULT_STANDARDS, SlaPolicy, whole_minutes

S = TicketState


@dataclass(frozen=True)
class Actor:
    """Who acts: a platform-qualified id ("telegram:123") and a display name."""

    id: str
    name: str


SYSTEM = Actor(id="system", name="Sistem")

# The recorded explanation of a late step that waited on the requester, not on the staff.
LATE_ON_REQUESTER = "Menunggu pemohon (di luar kendali admin)"
LATE_CANCELLED = "Dibatalkan pemohon sebelum selesai"
LATE_BY_SYSTEM = "Tertunda di sistem (mis. gangguan penyimpanan)"
# A refused move is told to people: the state in words, never its code.
STATE_WORDS = {
    S.SUBMITTED: "menunggu cek kelengkapan",
    S.SUPPLEMENTED: "menunggu cek kelengkapan ulang",
    S.INCOMPLETE: "menunggu kelengkapan dari pemohon",
    S.COMPLETE: "menunggu cek keabsahan",
    S.VALID: "menunggu hasil dari admin",
    S.DELIVERED: "menunggu link hasil dibuka pemohon",
    S.RECEIVED: "menunggu konfirmasi login pemohon",
    S.REJECTED: "sudah ditolak",
    S.CANCELLED: "sudah dibatalkan",
    S.EXPIRED: "sudah ditutup karena kelengkapan tidak dikirim",
    S.ARCHIVED: "sudah selesai dan diarsipkan",
}


def not_now(ticket: Ticket) -> str:
    return f"Tiket {ticket.number} tidak dapat diproses: {STATE_WORDS[ticket.state]}."


# A late step's question goes to the admin who finished it; left unanswered this long (they
# are away, or left), any admin may answer it.
LATE_ANSWER_BY_ANY = timedelta(hours=24)


class Move(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    SUPPLEMENT = "supplement"
    CONFIRM_PHONE = "confirm_phone"
    VALID = "valid"
    INVALID = "invalid"
    CLAIM_RESULT = "claim_result"
    DELIVER = "deliver"
    RECEIVE = "receive"
    CONFIRM_LOGIN = "confirm_login"
    CLOSE_UNCONFIRMED = "close_unconfirmed"
    INCIDENT = "incident"
    EXPIRE_LINK = "expire_link"
    REVOKE_LINK = "revoke_link"
    LOSE_LINK = "lose_link"
    CANCEL = "cancel"
    EXPIRE = "expire"
    ARCHIVE = "archive"


# The SOP's flow: which states a move may start from, and where it leads.
MOVES: dict[Move, tuple[frozenset[TicketState], TicketState]] = {
    Move.COMPLETE: (frozenset({S.SUBMITTED, S.SUPPLEMENTED}), S.COMPLETE),
    Move.INCOMPLETE: (frozenset({S.SUBMITTED, S.SUPPLEMENTED}), S.INCOMPLETE),
    Move.SUPPLEMENT: (frozenset({S.INCOMPLETE}), S.SUPPLEMENTED),
    Move.CONFIRM_PHONE: (frozenset({S.COMPLETE}), S.COMPLETE),
    Move.VALID: (frozenset({S.COMPLETE}), S.VALID),
    Move.INVALID: (frozenset({S.COMPLETE}), S.REJECTED),
    Move.CLAIM_RESULT: (frozenset({S.VALID}), S.VALID),
    Move.DELIVER: (frozenset({S.VALID}), S.DELIVERED),
    Move.RECEIVE: (frozenset({S.DELIVERED}), S.RECEIVED),
    Move.CONFIRM_LOGIN: (frozenset({S.RECEIVED}), S.RECEIVED),
    Move.CLOSE_UNCONFIRMED: (frozenset({S.RECEIVED}), S.RECEIVED),
    # A link that died unopened, or one opened by someone else: back to step 6, re-issue.
    Move.INCIDENT: (frozenset({S.RECEIVED}), S.VALID),
    Move.EXPIRE_LINK: (frozenset({S.DELIVERED}), S.VALID),
    Move.REVOKE_LINK: (frozenset({S.DELIVERED}), S.VALID),
    # The store lost the sealed secret before anyone opened it (Redis without persistence).
    Move.LOSE_LINK: (frozenset({S.DELIVERED}), S.VALID),
    Move.CANCEL: (
        frozenset({S.SUBMITTED, S.INCOMPLETE, S.SUPPLEMENTED, S.COMPLETE, S.VALID}),
        S.CANCELLED,
    ),
    Move.EXPIRE: (frozenset({S.INCOMPLETE}), S.EXPIRED),
    Move.ARCHIVE: (frozenset({S.RECEIVED, S.REJECTED, S.CANCELLED, S.EXPIRED}), S.ARCHIVED),
}


class TicketError(Exception):
    """A move the SOP does not allow now; carries the ticket as it is."""

    def __init__(self, message: str, ticket: Ticket | None = None) -> None:
        super().__init__(message)
        self.ticket = ticket


class TicketNotFound(TicketError):
    pass


class IllegalMove(TicketError):
    """The ticket is not in a state where this move is allowed."""


class StaleMove(TicketError):
    """Someone moved the ticket since the button was shown."""


class NotYours(TicketError):
    """The ticket belongs to another requester or is claimed by another admin."""


class LinkAbandoned(TicketError):
    """The link's hand-over was given up (the sweep found it unrecorded) before it was."""


@dataclass(frozen=True)
class NewDocument:
    kind: DocumentKind
    file: StoredFile


def ticket_number(ticket_id: int, created_at: datetime, zone: ZoneInfo) -> str:
    """Short and typeable: year-month of submission and the ticket's serial, e.g. 2611-0042."""
    return f"{created_at.astimezone(zone):%y%m}-{ticket_id:04d}"


def parse_ticket_number(text: str) -> str | None:
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 8 or len(digits) > 12:
        return None
    return f"{digits[:4]}-{digits[4:]}"


class TicketService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        policy: SlaPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._zone = zone
        self._now = clock
        self.policy = policy or SlaPolicy(OfficeCalendar(zone), DEFAULT_STANDARDS)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    # ---- queries -----------------------------------------------------------------------

    async def get(self, ticket_id: int) -> Ticket:
        async with self._sessions() as session:
            return await self._load(session, ticket_id)

    async def find_by_number(self, number: str) -> Ticket | None:
        async with self._sessions() as session:
            result = await session.execute(select(Ticket).where(Ticket.number == number))
            return result.unique().scalar_one_or_none()

    async def for_requester(self, *, channel: str, chat_id: str, limit: int = 10) -> list[Ticket]:
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket)
                .join(Requester)
                .where(Requester.channel == channel, Requester.chat_id == chat_id)
                .order_by(Ticket.id.desc())
                .limit(limit)
            )
            return list(result.unique().scalars())

    async def open_tickets(self) -> list[Ticket]:
        """Every ticket still in the SOP's flow, oldest first (the admins' queue)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket).where(Ticket.state.in_(OPEN_STATES)).order_by(Ticket.id)
            )
            return list(result.unique().scalars())

    async def unarchived_ended(self) -> list[int]:
        """Tickets that ended but whose archive was not written (e.g. a crash in between)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket.id).where(
                    Ticket.state.in_([S.REJECTED, S.CANCELLED, S.EXPIRED])
                    | ((Ticket.state == S.RECEIVED) & (Ticket.outcome == Outcome.COMPLETED))
                )
            )
            return list(result.scalars())

    # ---- step 1: submit ------------------------------------------------------------------

    async def submit(
        self,
        *,
        channel: str,
        chat_id: str,
        actor: Actor,
        identity: Identity,
        request_type: RequestType,
        documents: Sequence[NewDocument],
        update_key: str | None = None,
    ) -> Ticket:
        """Record a new request with its documents and send it to the admin group.

        `update_key` names the update that submits it: submitting again with the same key
        (a retry after a crash) returns the ticket already made.
        """
        kinds = {doc.kind for doc in documents}
        if kinds != {DocumentKind.LETTER, DocumentKind.SK}:
            raise IllegalMove("Surat permohonan dan SK keduanya wajib dilampirkan.")
        if update_key is not None:
            async with self._sessions() as session:
                made = await session.scalar(
                    select(Ticket.id).where(Ticket.submitted_by_update == update_key)
                )
            if made is not None:
                return await self.get(made)
        now = self._now()
        async with self._sessions.begin() as session:
            requester = await self._upsert_requester(
                session, channel=channel, chat_id=chat_id, actor=actor, identity=identity
            )
            ticket = Ticket(
                requester=requester,
                request_type=request_type,
                state=S.SUBMITTED,
                version=1,
                round=1,
                created_at=now,
                state_since=now,
                last_actor_name=actor.name,
                submitted_by_update=update_key,
            )
            self._apply_identity(ticket, identity)
            session.add(ticket)
            await session.flush()
            ticket.number = ticket_number(ticket.id, now, self._zone)
            others = await self._link_same_nip(session, ticket)
            self._add_documents(session, ticket, documents, round_=1)
            self._record(session, ticket, Step.SUBMIT, actor, now, now, "diajukan")
            self._open(session, ticket, Step.CHECK_COMPLETENESS, now)
            self._audit(
                session,
                ticket,
                actor,
                "submitted",
                request_type=request_type.value,
                same_nip_open=[str(x.number) for x in others] or None,
            )
            self._notify(session, ticket, "admins", NoticeKind.NEW_TICKET, round=1)
        return await self.get(ticket.id)

    # ---- steps 2-4: completeness -------------------------------------------------------------

    async def mark_complete(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket, now = await self._move(session, ticket_id, version, Move.COMPLETE, actor)
            self._finish(session, ticket, Step.CHECK_COMPLETENESS, actor, now, "lengkap")
            self._open(session, ticket, Step.CHECK_VALIDITY, now)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_incomplete(
        self,
        *,
        ticket_id: int,
        version: int,
        actor: Actor,
        missing: Iterable[MissingItem],
        note: str | None,
    ) -> Ticket:
        items = sorted({MissingItem(m) for m in missing})
        if not items:
            raise IllegalMove("Pilih dulu apa yang kurang.")
        if MissingItem.IDENTITY in items and not (note or "").strip():
            raise IllegalMove("Data identitas yang kurang perlu catatan: data mana yang salah.")
        async with self._sessions.begin() as session:
            ticket, now = await self._move(
                session, ticket_id, version, Move.INCOMPLETE, actor, missing=items
            )
            ticket.missing = [m.value for m in items]
            ticket.incomplete_note = note
            ticket.supplement_reminded_at = None  # each round of step 4 gets its reminder
            what = ", ".join(m.value for m in items)
            self._finish(
                session, ticket, Step.CHECK_COMPLETENESS, actor, now, "tidak_lengkap", note=what
            )
            self._record(
                session, ticket, Step.ASK_TO_COMPLETE, actor, now, now, "diminta", note=note
            )
            self._open(
                session,
                ticket,
                Step.SUPPLEMENT,
                now,
                actor=self._requester_actor(ticket),
            )
            self._notify(session, ticket, "requester", NoticeKind.INCOMPLETE)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def supplement(
        self,
        *,
        ticket_id: int,
        channel: str,
        chat_id: str,
        actor: Actor,
        documents: Sequence[NewDocument],
        identity: Identity | None,
    ) -> Ticket:
        """Step 4: the requester sends what was missing; back to the completeness check."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            self._check_owner(ticket, channel, chat_id)
            ticket, now = await self._move(
                session, ticket_id, ticket.version, Move.SUPPLEMENT, actor
            )
            ticket.round += 1
            self._add_documents(session, ticket, documents, round_=ticket.round)
            if identity is not None:
                changes = self._identity_changes(ticket, identity)
                ticket.identity_changes = [
                    *ticket.identity_changes,
                    *({"round": ticket.round, **change} for change in changes),
                ]
                self._apply_identity(ticket.requester, identity)
                self._apply_identity(ticket, identity)
                # Field names only: the values are personal data, kept on the ticket (and
                # blanked with it by retention), never in the audit trail.
                self._audit(
                    session,
                    ticket,
                    actor,
                    "identity_supplemented",
                    changed=[change["field"] for change in changes],
                )
                if any(change["field"] == "nip" for change in changes):
                    await self._link_same_nip(session, ticket)
            sent = sorted({d.kind.value for d in documents} | ({"identity"} if identity else set()))
            self._finish(
                session, ticket, Step.SUPPLEMENT, actor, now, "dilengkapi", note=", ".join(sent)
            )
            self._open(session, ticket, Step.CHECK_COMPLETENESS, now)
            self._notify(session, ticket, "admins", NoticeKind.SUPPLEMENT, round=ticket.round)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    # ---- steps 5 and 7: validity -------------------------------------------------------------

    async def confirm_by_phone(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket, _ = await self._move(session, ticket_id, version, Move.CONFIRM_PHONE, actor)
            ticket.phone_confirmed_by = actor.name
            step = self._current(ticket, Step.CHECK_VALIDITY)
            if step is not None:
                step.note = f"dikonfirmasi lewat telepon oleh {actor.name}"
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_valid(self, *, ticket_id: int, version: int, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket, now = await self._move(session, ticket_id, version, Move.VALID, actor)
            self._finish(session, ticket, Step.CHECK_VALIDITY, actor, now, "valid")
            self._open(session, ticket, Step.RESET_IN_SPSE, now)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def reject(self, *, ticket_id: int, version: int, actor: Actor, reason: str) -> Ticket:
        """Invalid (step 5) and the rejection notice (step 7): the ticket ends."""
        async with self._sessions.begin() as session:
            ticket, now = await self._move(
                session, ticket_id, version, Move.INVALID, actor, reason=reason
            )
            ticket.rejection_reason = reason
            ticket.outcome = Outcome.REJECTED
            ticket.closed_at = now
            self._finish(
                session, ticket, Step.CHECK_VALIDITY, actor, now, "tidak_valid", note=reason
            )
            self._record(
                session, ticket, Step.NOTIFY_REJECTION, actor, now, now, "ditolak", note=reason
            )
            self._notify(session, ticket, "requester", NoticeKind.REJECTED)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    # ---- steps 6 and 8: result -----------------------------------------------------------------

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
                raise StaleMove(f"Tiket {ticket.number} sudah diproses.", ticket)
            if ticket.state != S.VALID:
                session.expunge(ticket)
                raise IllegalMove(f"Tiket {ticket.number} tidak menunggu hasil.", ticket)
            if ticket.result_admin_id != actor.id:
                session.expunge(ticket)
                raise NotYours(
                    f"Tiket {ticket.number} sedang dikerjakan {ticket.result_admin_name}.", ticket
                )
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
    ) -> Ticket:
        """Step 6 done, step 8 started: the one-time link has been sent to the requester.

        Completes the link written down by `record_pending_link` (or writes it now); refuses
        with `LinkAbandoned` when the sweep has given that link up meanwhile.
        """
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.result_admin_id != actor.id:
                raise NotYours(
                    f"Tiket {ticket.number} sedang dikerjakan {ticket.result_admin_name}.", ticket
                )
            ticket, now = await self._move(session, ticket_id, version, Move.DELIVER, actor)
            done = {
                RequestType.RESET_PASSWORD: "password_direset",
                RequestType.USER_ID: "user_id_diberikan",
                RequestType.BOTH: "password_direset_dan_user_id",
            }[ticket.request_type]
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
            else:
                # Conditional: of this and the sweep that gives unrecorded links up, one wins.
                completed = await session.execute(
                    update(CredentialLink)
                    .where(
                        CredentialLink.id == pending.id,
                        CredentialLink.sent_at.is_(None),
                        CredentialLink.revoked_at.is_(None),
                    )
                    .values(sent_at=now)
                    .execution_options(synchronize_session=False)
                )
                if completed.rowcount != 1:  # type: ignore[attr-defined]
                    raise LinkAbandoned(f"Link tiket {ticket.number} sudah dibatalkan.", ticket)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def abandon_link(self, link_hash: str) -> bool:
        """A link whose sending or recording failed: dead from now on (the page says it was
        cancelled, never 404). True when this call marked it."""
        async with self._sessions.begin() as session:
            marked = await session.execute(
                update(CredentialLink)
                .where(
                    CredentialLink.link_hash == link_hash,
                    CredentialLink.sent_at.is_(None),
                    CredentialLink.revoked_at.is_(None),
                )
                .values(revoked_at=self._now(), revoked_by=SYSTEM.name)
                .execution_options(synchronize_session=False)
            )
            return bool(marked.rowcount)  # type: ignore[attr-defined]

    async def abandon_unsent_links(self, *, older_than: timedelta) -> list[str]:
        """The sweep: links written down before sending but never recorded as sent (the
        process died in between). Each is marked dead (a conditional UPDATE, so a late
        recording and the sweep cannot both win) and, when its ticket still waits for the
        result, the group is told to re-issue. Returns the hashes, whose ciphertext the
        caller removes from the store."""
        now = self._now()
        async with self._sessions() as session:
            due = (
                await session.execute(
                    select(CredentialLink.id, CredentialLink.link_hash).where(
                        CredentialLink.sent_at.is_(None),
                        CredentialLink.revoked_at.is_(None),
                        CredentialLink.opened_at.is_(None),
                        CredentialLink.expired_at.is_(None),
                        CredentialLink.created_at <= now - older_than,
                    )
                )
            ).all()
        abandoned = []
        for link_id, hashed in due:
            async with self._sessions.begin() as session:
                marked = await session.execute(
                    update(CredentialLink)
                    .where(
                        CredentialLink.id == link_id,
                        CredentialLink.sent_at.is_(None),
                        CredentialLink.revoked_at.is_(None),
                    )
                    .values(revoked_at=now, revoked_by=SYSTEM.name)
                    .execution_options(synchronize_session=False)
                )
                if marked.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # recorded just now, or another worker's sweep
                ticket = await self._load(session, await self._ticket_of(session, link_id))
                self._audit(session, ticket, SYSTEM, "link_unsent", link=hashed[:12])
                latest = ticket.latest_link
                if ticket.state == S.VALID and latest is not None and latest.id == link_id:
                    self._notify(session, ticket, "admins", NoticeKind.LINK_UNSENT)
                    self._notify(session, ticket, "admins", NoticeKind.CARD)
            abandoned.append(hashed)
        return abandoned

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
                update(CredentialLink)
                .where(CredentialLink.link_hash == link_hash, CredentialLink.opened_at.is_(None))
                .values(opened_at=now)
                .returning(CredentialLink.ticket_id)
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
                    raise IllegalMove(not_now(ticket), ticket)
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
                self._audit(session, ticket, SYSTEM, "link_revealed_late", reason=str(lost))
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
                raise IllegalMove(
                    f"Tiket {ticket.number} sudah ditutup. Jika akun SPSE Anda disalahgunakan, "
                    "segera hubungi Admin Agency dan ajukan reset baru.",
                    ticket,
                )
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

    async def link_lost(self, link_hash: str) -> Ticket | None:
        """The store lost the link's ciphertext before anyone took it: back to step 6.

        The requester is told the link cannot be opened and a new one will come; the group
        is alerted. The link is marked by a conditional UPDATE (still unopened, unrevoked,
        unexpired), so of concurrent finders one moves the ticket; the others get None, as
        does a link that is not the ticket's current one.
        """
        try:
            return await self._lose_link(link_hash)
        except (StaleMove, IllegalMove):
            return None  # another worker found it first, or the requester opened it just now

    async def _lose_link(self, link_hash: str) -> Ticket | None:
        async with self._sessions.begin() as session:
            link = await self._link(session, link_hash)
            if link is None:
                return None
            ticket = await self._load(session, link.ticket_id)
            latest = ticket.latest_link
            if ticket.state != S.DELIVERED or latest is None or latest.id != link.id:
                return None
            ticket, at = await self._move(
                session, ticket.id, ticket.version, Move.LOSE_LINK, SYSTEM
            )
            marked = await session.execute(
                update(CredentialLink)
                .where(
                    CredentialLink.id == link.id,
                    CredentialLink.opened_at.is_(None),
                    CredentialLink.revoked_at.is_(None),
                    CredentialLink.expired_at.is_(None),
                    CredentialLink.lost_at.is_(None),
                )
                .values(lost_at=at)
                .execution_options(synchronize_session=False)
            )
            if marked.rowcount != 1:  # type: ignore[attr-defined]
                raise IllegalMove("opened meanwhile", ticket)
            self._link_died(session, ticket, SYSTEM, at, "link_hilang")
            self._audit(session, ticket, SYSTEM, "link_lost", link=link_hash[:12])
            self._notify(session, ticket, "requester", NoticeKind.LINK_LOST)
            self._notify(session, ticket, "admins", NoticeKind.LINK_LOST)
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket.id)

    async def unopened_links(self) -> list[str]:
        """The hashes of links sent and still waiting to be opened (unexpired)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(CredentialLink.link_hash)
                .join(Ticket, CredentialLink.ticket_id == Ticket.id)
                .where(
                    Ticket.state == S.DELIVERED,
                    CredentialLink.expires_at > self._now(),
                    CredentialLink.opened_at.is_(None),
                    CredentialLink.revoked_at.is_(None),
                    CredentialLink.expired_at.is_(None),
                    CredentialLink.lost_at.is_(None),
                )
            )
            return list(rows.scalars())

    async def expire_links(self) -> list[Ticket]:
        """The sweep: links that expired unopened send their tickets back for a re-issue.

        Safe with several workers: each ticket moves once (version-checked), the loser skips.
        """
        now = self._now()
        async with self._sessions() as session:
            due = (
                await session.execute(
                    select(Ticket.id, Ticket.version)
                    .join(CredentialLink, CredentialLink.ticket_id == Ticket.id)
                    .where(
                        Ticket.state == S.DELIVERED,
                        CredentialLink.expires_at <= now,
                        CredentialLink.sent_at.is_not(None),
                        CredentialLink.opened_at.is_(None),
                        CredentialLink.revoked_at.is_(None),
                        CredentialLink.expired_at.is_(None),
                        CredentialLink.lost_at.is_(None),
                    )
                )
            ).all()
        expired = []
        for ticket_id, version in due:
            try:
                async with self._sessions.begin() as session:
                    ticket, at = await self._move(
                        session, ticket_id, version, Move.EXPIRE_LINK, SYSTEM
                    )
                    link = ticket.latest_link
                    if link is None:
                        raise IllegalMove("no link")
                    # Conditional, so a reveal that committed just now wins over the sweep.
                    marked = await session.execute(
                        update(CredentialLink)
                        .where(  # the ticket's current link, and only once it is due
                            CredentialLink.id == link.id,
                            CredentialLink.expires_at <= now,
                            CredentialLink.opened_at.is_(None),
                            CredentialLink.revoked_at.is_(None),
                            CredentialLink.lost_at.is_(None),
                        )
                        .values(expired_at=at)
                        .execution_options(synchronize_session=False)
                    )
                    if marked.rowcount != 1:  # type: ignore[attr-defined]
                        raise IllegalMove("opened meanwhile")
                    self._link_died(session, ticket, SYSTEM, at, "link_kedaluwarsa")
                    self._audit(session, ticket, SYSTEM, "link_expired")
                    self._notify(session, ticket, "requester", NoticeKind.LINK_EXPIRED)
                    self._notify(session, ticket, "admins", NoticeKind.LINK_EXPIRED)
                    self._notify(session, ticket, "admins", NoticeKind.CARD)
            except (StaleMove, IllegalMove):
                continue  # another worker, or the requester opened it just now
            expired.append(await self.get(ticket_id))
        return expired

    async def remind_unconfirmed(self, *, every: timedelta, at_most: int) -> list[Ticket]:
        """Remind requesters who opened the result but did not confirm the login; each
        reminder is claimed by one conditional UPDATE, so two workers never both send it."""
        now = self._now()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Ticket.id, Ticket.state_since, Ticket.confirm_reminders).where(
                        Ticket.state == S.RECEIVED,
                        Ticket.confirmed_at.is_(None),
                        Ticket.outcome.is_(None),
                        Ticket.confirm_reminders < at_most,
                    )
                )
            ).all()
        reminded = []
        for ticket_id, since, sent in rows:
            if since + every * (sent + 1) > now:
                continue
            async with self._sessions.begin() as session:
                claimed = await session.execute(
                    update(Ticket)
                    .where(
                        Ticket.id == ticket_id,
                        Ticket.state == S.RECEIVED,
                        Ticket.confirmed_at.is_(None),
                        Ticket.outcome.is_(None),
                        Ticket.confirm_reminders == sent,
                    )
                    .values(confirm_reminders=sent + 1)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                ticket = await self._load(session, ticket_id)
                self._audit(session, ticket, SYSTEM, "confirm_reminder", number=sent + 1)
                self._notify(session, ticket, "requester", NoticeKind.CONFIRM_REMINDER)
                self._notify(session, ticket, "admins", NoticeKind.CARD)
            reminded.append(ticket)
        return reminded

    async def close_unconfirmed(self, *, after: timedelta) -> list[Ticket]:
        """Opened long ago and never confirmed: the ticket goes to the archive anyway."""
        now = self._now()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Ticket.id, Ticket.version).where(
                        Ticket.state == S.RECEIVED,
                        Ticket.outcome.is_(None),
                        Ticket.state_since <= now - after,
                    )
                )
            ).all()
        closed = []
        for ticket_id, version in rows:
            try:
                async with self._sessions.begin() as session:
                    ticket, at = await self._move(
                        session, ticket_id, version, Move.CLOSE_UNCONFIRMED, SYSTEM
                    )
                    ticket.outcome = Outcome.COMPLETED
                    ticket.closed_at = at
                    self._notify(session, ticket, "requester", NoticeKind.CLOSED_UNCONFIRMED)
                    self._notify(session, ticket, "admins", NoticeKind.CARD)
            except (StaleMove, IllegalMove):
                continue
            closed.append(await self.get(ticket_id))
        return closed

    async def remind_supplements(self, *, after: timedelta) -> list[Ticket]:
        """Step 4 waits on the requester: one reminder once `after` has passed, claimed by a
        conditional UPDATE so two workers never both send it."""
        now = self._now()
        async with self._sessions() as session:
            due = (
                await session.execute(
                    select(Ticket.id).where(
                        Ticket.state == S.INCOMPLETE,
                        Ticket.supplement_reminded_at.is_(None),
                        Ticket.state_since <= now - after,
                    )
                )
            ).scalars()
            ids = list(due)
        reminded = []
        for ticket_id in ids:
            async with self._sessions.begin() as session:
                claimed = await session.execute(
                    update(Ticket)
                    .where(
                        Ticket.id == ticket_id,
                        Ticket.state == S.INCOMPLETE,
                        Ticket.supplement_reminded_at.is_(None),
                    )
                    .values(supplement_reminded_at=now)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                ticket = await self._load(session, ticket_id)
                self._audit(session, ticket, SYSTEM, "supplement_reminder")
                self._notify(session, ticket, "requester", NoticeKind.SUPPLEMENT_REMINDER)
                self._notify(session, ticket, "admins", NoticeKind.CARD)
            reminded.append(ticket)
        return reminded

    async def expire_supplements(self, *, after: timedelta) -> list[Ticket]:
        """Step 4 never came: the ticket closes as expired, the requester is told."""
        now = self._now()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Ticket.id, Ticket.version).where(
                        Ticket.state == S.INCOMPLETE, Ticket.state_since <= now - after
                    )
                )
            ).all()
        expired = []
        for ticket_id, version in rows:
            try:
                async with self._sessions.begin() as session:
                    ticket, at = await self._move(session, ticket_id, version, Move.EXPIRE, SYSTEM)
                    ticket.outcome = Outcome.EXPIRED
                    ticket.closed_at = at
                    self._finish(session, ticket, Step.SUPPLEMENT, None, at, "kedaluwarsa")
                    self._notify(session, ticket, "requester", NoticeKind.EXPIRED)
                    self._notify(session, ticket, "admins", NoticeKind.CARD)
            except (StaleMove, IllegalMove):
                continue  # supplemented just now, or another worker expired it
            expired.append(await self.get(ticket_id))
        return expired

    async def explain_late(
        self, *, record_id: int, actor: Actor, reason: str
    ) -> tuple[Ticket, StepRecord]:
        """Record why a step was late, once, by the admin who finished it (a conditional
        UPDATE, so a double tap or a tap racing a typed answer records one reason)."""
        async with self._sessions.begin() as session:
            record = await session.get(StepRecord, record_id, populate_existing=True)
            if record is None or not record.late:
                raise IllegalMove("Langkah ini tidak terlambat.")
            ticket = await self._load(session, record.ticket_id)
            now = self._now()
            if record.late_reason is None and not self.may_explain(record, actor, now):
                raise NotYours(
                    f"Pertanyaan ini untuk {record.actor_name}, yang menyelesaikan langkahnya. "
                    "Bila belum dijawab dalam 24 jam, admin lain dapat menjawabnya.",
                    ticket,
                )
            open_to_all = now - LATE_ANSWER_BY_ANY
            claimed = await session.execute(
                update(StepRecord)
                .where(
                    StepRecord.id == record_id,
                    StepRecord.late_reason.is_(None),
                    (StepRecord.actor_id == actor.id) | (StepRecord.finished_at <= open_to_all),
                )
                .values(late_reason=reason, late_reason_by=actor.name)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await session.refresh(record)
                raise StaleMove(
                    f"Alasan keterlambatan tiket {ticket.number} sudah dicatat "
                    f"oleh {record.late_reason_by}.",
                    ticket,
                )
            await session.refresh(record)
            self._audit(
                session, ticket, actor, "late_explained", step=int(record.step), reason=reason
            )
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return ticket, record

    async def late_question(self, ticket_id: int, record_id: int) -> str | None:
        """The platform message id of the question asked about a late step, once sent."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.payload, OutboxMessage.platform_message_id).where(
                    OutboxMessage.ticket_id == ticket_id,
                    OutboxMessage.kind == NoticeKind.LATE_REASON,
                    OutboxMessage.platform_message_id.is_not(None),
                )
            )
            for payload, message_id in rows.all():
                if payload.get("record") == record_id:
                    return str(message_id)
        return None

    @staticmethod
    def may_explain(record: StepRecord, actor: Actor, now: datetime) -> bool:
        """The admin who finished the late step; after LATE_ANSWER_BY_ANY, any admin."""
        finished = record.finished_at
        return record.actor_id == actor.id or (
            finished is not None and finished <= now - LATE_ANSWER_BY_ANY
        )

    async def backfill_deadlines(self) -> int:
        """Steps recorded before deadlines were stored (migration 0004): open ones get their
        deadlines, finished ones their office time. Idempotent; nothing to do afterwards."""
        async with self._sessions.begin() as session:
            records = (
                (
                    await session.execute(
                        select(StepRecord).where(
                            StepRecord.standard_minutes.is_not(None),
                            (StepRecord.finished_at.is_(None) & StepRecord.due_at.is_(None))
                            | (
                                StepRecord.finished_at.is_not(None)
                                & StepRecord.office_seconds.is_(None)
                            ),
                        )
                    )
                )
                .scalars()
                .all()
            )
            for record in records:
                if record.finished_at is not None:
                    used = self.policy.used(record.started_at, record.finished_at)
                    record.office_seconds = int(used.total_seconds())
                    continue
                deadlines = self.policy.deadlines(Step(record.step), record.started_at)
                if deadlines is not None:
                    record.due_at, record.escalate_at = deadlines.due_at, deadlines.escalate_at
            return len(records)

    async def move_card(self, *, ticket_id: int, message_id: str) -> None:
        """The ticket's card is now this group message (sent again at an admin's request):
        later edits, reminders and alerts go to it. Not a state change, so no version bump."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(admin_message_id=message_id)
            )

    async def mark_unreachable(self, ticket_id: int, reason: str) -> bool:
        """The platform refused a message to the requester for good (they blocked the bot):
        on record, on the card and told to the admins once. True when newly marked."""
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.requester_unreachable_at is not None:
                return False
            ticket.requester_unreachable_at = utcnow()
            self._audit(session, ticket, SYSTEM, "requester_unreachable", reason=reason[:200])
            self._notify(session, ticket, "admins", NoticeKind.CARD)
            self._notify(session, ticket, "admins", NoticeKind.UNREACHABLE)
            return True

    async def mark_reachable(self, ticket_id: int) -> None:
        """A message reached the requester again: the card stops warning."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.requester_unreachable_at.is_not(None))
                .values(requester_unreachable_at=None)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return
            ticket = await self._load(session, ticket_id)
            self._audit(session, ticket, SYSTEM, "requester_reachable")
            self._notify(session, ticket, "admins", NoticeKind.CARD)

    async def link_viewed(self, link_hash: str) -> None:
        """The page was fetched (a person or a preview bot); the secret was not touched.

        Counted by atomic UPDATEs, so a storm of concurrent fetches counts every one and
        audits the first view exactly once.
        """
        async with self._sessions.begin() as session:
            link_id = await self._count(session, link_hash, CredentialLink.views)
            if link_id is None:
                return
            first = await session.execute(
                update(CredentialLink)
                .where(CredentialLink.id == link_id, CredentialLink.first_viewed_at.is_(None))
                .values(first_viewed_at=self._now())
                .execution_options(synchronize_session=False)
            )
            if first.rowcount == 1:  # type: ignore[attr-defined]
                ticket_id = await self._ticket_of(session, link_id)
                self._audit_ticket(session, ticket_id, "link_opened", link=link_hash[:12])

    async def reveal_refused(self, link_hash: str, reason: str) -> None:
        """Record a refused reveal on the link's ticket (unknown links are not recorded)."""
        async with self._sessions.begin() as session:
            link_id = await self._count(session, link_hash, CredentialLink.refusals)
            if link_id is None:
                return
            ticket_id = await self._ticket_of(session, link_id)
            self._audit_ticket(
                session, ticket_id, "reveal_refused", reason=reason, link=link_hash[:12]
            )

    @staticmethod
    async def _count(session: AsyncSession, link_hash: str, column: Any) -> int | None:
        """Add one to a link's counter in the database itself; the link's id, or None."""
        result = await session.execute(
            update(CredentialLink)
            .where(CredentialLink.link_hash == link_hash)
            .values({column: column + 1})
            .returning(CredentialLink.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none()

    @staticmethod
    async def _ticket_of(session: AsyncSession, link_id: int) -> int:
        found = await session.execute(
            select(CredentialLink.ticket_id).where(CredentialLink.id == link_id)
        )
        return int(found.scalar_one())

    @staticmethod
    def _audit_ticket(session: AsyncSession, ticket_id: int, action: str, **detail: Any) -> None:
        session.add(
            AuditEvent(
                ticket_id=ticket_id,
                actor_id=SYSTEM.id,
                actor_name=SYSTEM.name,
                action=action,
                detail=detail,
            )
        )

    async def link_status(self, link_hash: str) -> CredentialLink | None:
        async with self._sessions() as session:
            return await self._link(session, link_hash)

    # ---- cancel and archive (step 9) -----------------------------------------------------------

    async def cancel(self, *, ticket_id: int, channel: str, chat_id: str, actor: Actor) -> Ticket:
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            self._check_owner(ticket, channel, chat_id)
            if ticket.incidents:
                # A password someone else saw is still set in SPSE: the admins must reset it.
                raise IllegalMove(
                    f"Tiket {ticket.number} sedang menangani insiden dan tidak dapat dibatalkan.",
                    ticket,
                )
            ticket, now = await self._move(session, ticket_id, ticket.version, Move.CANCEL, actor)
            ticket.outcome = Outcome.CANCELLED
            ticket.closed_at = now
            for step in ticket.steps:
                if step.finished_at is None:
                    step.finished_at, step.outcome = now, "dibatalkan_pemohon"
                    step.office_seconds = int(
                        self.policy.used(step.started_at, now).total_seconds()
                    )
                    if step.late:
                        step.late_reason, step.late_reason_by = LATE_CANCELLED, SYSTEM.name
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    async def mark_archived(
        self, *, ticket_id: int, archive_path: str, started_at: datetime
    ) -> Ticket:
        async with self._sessions.begin() as session:
            ticket = await self._load(session, ticket_id)
            if ticket.state == S.RECEIVED and ticket.outcome is None:
                raise IllegalMove(f"Tiket {ticket.number} menunggu konfirmasi pemohon.", ticket)
            ticket, now = await self._move(
                session, ticket_id, ticket.version, Move.ARCHIVE, SYSTEM, path=archive_path
            )
            ticket.archive_path = archive_path
            self._record(
                session,
                ticket,
                Step.ARCHIVE,
                SYSTEM,
                started_at,
                now,
                "diarsipkan",
                note=archive_path,
            )
            self._notify(session, ticket, "admins", NoticeKind.CARD)
        return await self.get(ticket_id)

    # ---- the one door ------------------------------------------------------------------------

    async def _move(
        self,
        session: AsyncSession,
        ticket_id: int,
        version: int,
        move: Move,
        actor: Actor,
        **detail: Any,
    ) -> tuple[Ticket, datetime]:
        """Check and apply a move; refuse illegal or stale ones; audit it."""
        ticket = await self._load(session, ticket_id)
        sources, target = MOVES[move]
        if ticket.version != version:
            session.expunge(ticket)  # keep it readable for the caller after the rollback
            raise StaleMove(f"Tiket {ticket.number} sudah diproses.", ticket)
        if ticket.state not in sources:
            session.expunge(ticket)
            raise IllegalMove(not_now(ticket), ticket)
        now = self._now()
        changed = target != ticket.state
        values: dict[str, Any] = {
            "version": version + 1,
            "state": target,
            "last_actor_name": actor.name,
        }
        if changed:
            values["state_since"] = now
        result = await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.version == version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleMove(f"Tiket {ticket.number} sudah diproses.", await self.get(ticket_id))
        from_state = ticket.state
        await session.refresh(ticket)
        self._audit(
            session,
            ticket,
            actor,
            move.value,
            from_state=from_state.value,
            to_state=target.value,
            version=version + 1,
            **detail,
        )
        return ticket, now

    # ---- helpers (never commit) -------------------------------------------------------------

    async def _load(self, session: AsyncSession, ticket_id: int) -> Ticket:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None:
            raise TicketNotFound("Tiket tidak ditemukan.")
        return ticket

    @staticmethod
    async def _link(session: AsyncSession, link_hash: str) -> CredentialLink | None:
        return (
            await session.execute(
                select(CredentialLink).where(CredentialLink.link_hash == link_hash)
            )
        ).scalar_one_or_none()

    def _link_died(
        self, session: AsyncSession, ticket: Ticket, actor: Actor, at: datetime, outcome: str
    ) -> None:
        """Step 8 ends without the requester; step 6 opens again for anyone to re-issue."""
        self._finish(session, ticket, Step.DELIVER_RESULT, actor, at, outcome)
        ticket.result_admin_id = ticket.result_admin_name = None
        self._open(session, ticket, Step.RESET_IN_SPSE, at, note=f"kirim ulang: {outcome}")

    @staticmethod
    def _requester_actor(ticket: Ticket) -> Actor:
        who = ticket.requester
        return Actor(f"{who.channel}:{who.platform_user_id}", ticket.full_name)

    @staticmethod
    def _check_owner(ticket: Ticket, channel: str, chat_id: str) -> None:
        if (ticket.requester.channel, ticket.requester.chat_id) != (channel, chat_id):
            raise NotYours("Tiket ini bukan milik Anda.")

    async def _upsert_requester(
        self,
        session: AsyncSession,
        *,
        channel: str,
        chat_id: str,
        actor: Actor,
        identity: Identity,
    ) -> Requester:
        requester = (
            await session.execute(
                select(Requester).where(Requester.channel == channel, Requester.chat_id == chat_id)
            )
        ).scalar_one_or_none()
        if requester is None:
            requester = Requester(channel=channel, chat_id=chat_id)
            session.add(requester)
        requester.platform_user_id = actor.id.split(":", 1)[-1]
        self._apply_identity(requester, identity)
        return requester

    async def _link_same_nip(self, session: AsyncSession, ticket: Ticket) -> list[Ticket]:
        """Note on this ticket, and on the other open ones with its NIP, that they run
        side by side; their cards are refreshed. Not refused: the admins decide."""
        result = await session.execute(
            select(Ticket)
            .where(
                Ticket.nip == ticket.nip,
                Ticket.id != ticket.id,
                Ticket.state.in_(OPEN_STATES),
            )
            .order_by(Ticket.id)
        )
        others = list(result.unique().scalars())
        ticket.same_nip_open = [str(other.number) for other in others]
        for other in others:
            if ticket.number not in other.same_nip_open:
                other.same_nip_open = [*other.same_nip_open, str(ticket.number)]
                self._notify(session, other, "admins", NoticeKind.CARD)
        return others

    @staticmethod
    def _identity_changes(ticket: Ticket, identity: Identity) -> list[dict[str, Any]]:
        """The identity fields a supplement changes, with their old and new values."""
        pairs = {
            "name": (ticket.full_name, identity.name),
            "nip": (ticket.nip, identity.nip),
            "work_unit": (ticket.work_unit, identity.work_unit),
            "spse_user_id": (ticket.spse_user_id, identity.spse_user_id),
            "email": (ticket.email, identity.email),
        }
        return [
            {"field": field, "old": old, "new": new}
            for field, (old, new) in pairs.items()
            if old != new
        ]

    @staticmethod
    def _apply_identity(target: Requester | Ticket, identity: Identity) -> None:
        """Copy an identity onto the requester (the latest) or a ticket (its own copy)."""
        target.full_name = identity.name
        target.nip = identity.nip
        target.role = Role(identity.role)
        target.work_unit = identity.work_unit
        target.email = identity.email
        target.spse_user_id = identity.spse_user_id
        if identity.phone is not None:
            target.phone = identity.phone
            target.phone_verified = identity.phone_verified

    @staticmethod
    def _add_documents(
        session: AsyncSession, ticket: Ticket, documents: Sequence[NewDocument], round_: int
    ) -> None:
        pages: dict[DocumentKind, int] = {}
        for doc in documents:
            pages[doc.kind] = pages.get(doc.kind, 0) + 1
            session.add(
                Document(
                    ticket=ticket,
                    kind=doc.kind,
                    round=round_,
                    page=pages[doc.kind],
                    mime=doc.file.mime,
                    size=doc.file.size,
                    sha256=doc.file.sha256,
                    stored_path=doc.file.path,
                    platform_file_id=doc.file.platform_file_id,
                    original_name=doc.file.original_name,
                    encrypted=doc.file.encrypted,
                )
            )

    @staticmethod
    def _current(ticket: Ticket, step: Step) -> StepRecord | None:
        for record in reversed(ticket.steps):
            if record.step == step and record.finished_at is None:
                return record
        return None

    def _open(
        self,
        session: AsyncSession,
        ticket: Ticket,
        step: Step,
        at: datetime,
        actor: Actor | None = None,
        note: str | None = None,
    ) -> None:
        deadlines = self.policy.deadlines(step, at)
        session.add(
            StepRecord(
                ticket=ticket,
                step=step,
                started_at=at,
                standard_minutes=self.policy.standard(step),
                due_at=deadlines.due_at if deadlines else None,
                escalate_at=deadlines.escalate_at if deadlines else None,
                actor_id=actor.id if actor else None,
                actor_name=actor.name if actor else None,
                note=note,
            )
        )

    def _finish(
        self,
        session: AsyncSession,
        ticket: Ticket,
        step: Step,
        actor: Actor | None,
        at: datetime,
        outcome: str,
        note: str | None = None,
    ) -> None:
        record = self._current(ticket, step)
        if record is None:
            self._record(session, ticket, step, actor, at, at, outcome, note)
            return
        record.finished_at, record.outcome = at, outcome
        record.office_seconds = int(self.policy.used(record.started_at, at).total_seconds())
        if actor is not None:
            record.actor_id, record.actor_name = actor.id, actor.name
        if note:
            record.note = f"{record.note}; {note}" if record.note else note
        if record.late:
            self._ask_late_reason(session, ticket, record, actor)

    def _ask_late_reason(
        self, session: AsyncSession, ticket: Ticket, record: StepRecord, actor: Actor | None
    ) -> None:
        """A step finished past its standard: its deviation needs an explanation. An admin
        who finished it is asked; a wait on the requester (step 8) explains itself."""
        if actor is None or actor.id == SYSTEM.id or record.step == Step.DELIVER_RESULT:
            record.late_reason, record.late_reason_by = LATE_ON_REQUESTER, SYSTEM.name
            return
        self._notify(
            session,
            ticket,
            "admins",
            NoticeKind.LATE_REASON,
            record=record.id,
            step=int(record.step),
            actor_id=actor.id,
            actor_name=actor.name,
            minutes=whole_minutes(record.office_seconds or 0),
            standard=record.standard_minutes,
        )

    def _record(
        self,
        session: AsyncSession,
        ticket: Ticket,
        step: Step,
        actor: Actor | None,
        started: datetime,
        finished: datetime,
        outcome: str,
        note: str | None = None,
    ) -> None:
        record = StepRecord(
            ticket=ticket,
            step=step,
            started_at=started,
            finished_at=finished,
            standard_minutes=self.policy.standard(step),
            office_seconds=int(self.policy.used(started, finished).total_seconds()),
            outcome=outcome,
            note=note,
            actor_id=actor.id if actor else None,
            actor_name=actor.name if actor else None,
        )
        if record.late:  # only the system's own steps (the archive) take time here
            record.late_reason, record.late_reason_by = LATE_BY_SYSTEM, SYSTEM.name
        session.add(record)

    @staticmethod
    def _audit(
        session: AsyncSession, ticket: Ticket | None, actor: Actor, action: str, **detail: Any
    ) -> None:
        session.add(
            AuditEvent(
                ticket_id=ticket.id if ticket else None,
                actor_id=actor.id,
                actor_name=actor.name,
                action=action,
                detail={k: v for k, v in detail.items() if v is not None},
            )
        )

    @staticmethod
    def _notify(
        session: AsyncSession, ticket: Ticket, audience: str, kind: NoticeKind, **payload: Any
    ) -> None:
        requester = ticket.requester
        session.add(
            OutboxMessage(
                ticket_id=ticket.id,
                audience=audience,
                kind=kind,
                payload=payload,
                channel=requester.channel if audience == "requester" else None,
                chat_id=requester.chat_id if audience == "requester" else None,
            )
        )
