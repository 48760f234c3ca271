"""The requester's use cases that bring documents in: submit (step 1) and supplement (step 4),
with the ticket's own copy of the identity and the note of other open tickets for its NIP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import Document, Requester, Ticket
from chatbot.services.documents import StoredFile
from chatbot.services.enums import OPEN_STATES, DocumentKind, RequestType, Role, Step
from chatbot.services.identity import Identity
from chatbot.services.notices import NoticeKind
from chatbot.services.reply_window import inbound_time
from chatbot.services.tickets.errors import IllegalMove, Reason
from chatbot.services.tickets.machine import Actor, Move, S, ticket_number
from chatbot.services.tickets.records import StepRecords


@dataclass(frozen=True)
class NewDocument:
    kind: DocumentKind
    file: StoredFile


class Intake(StepRecords):
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
            raise IllegalMove(Reason.DOCUMENTS_MISSING)
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

    # ---- helpers (never commit) -------------------------------------------------------------

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
            # On a channel with a reply window, the update that submits is their last inbound
            # message: recorded now, so no sender renders this requester with no window.
            requester = Requester(channel=channel, chat_id=chat_id, last_inbound_at=inbound_time())
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
