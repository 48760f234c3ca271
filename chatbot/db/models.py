"""SQLAlchemy 2 models: requesters, tickets, documents, SOP step records, audit, outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from chatbot.services.enums import (
    DocumentKind,
    Outcome,
    RequestType,
    Role,
    Step,
    TicketState,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(kind: type[StrEnum], length: int = 16) -> Enum:
    """A StrEnum stored as its value in a VARCHAR, loaded back as the enum."""
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class IdentityColumns:
    """Who a request is for: the requester row keeps the latest, each ticket its own copy
    (one chat may ask for several people, and a ticket must show whom it was for)."""

    full_name: Mapped[str] = mapped_column(String(200))
    nip: Mapped[str] = mapped_column(String(18), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, 8))
    work_unit: Mapped[str] = mapped_column(String(200))
    spse_user_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)


class Requester(IdentityColumns, Base):
    """A PPK, PP or Pokja member as known on one chat channel."""

    __tablename__ = "requesters"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(160))
    platform_user_id: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Their last message on a channel with a reply window (WhatsApp's 24 hours).
    last_inbound_at: Mapped[datetime | None] = mapped_column()

    tickets: Mapped[list[Ticket]] = relationship(back_populates="requester")


class Ticket(IdentityColumns, Base):
    """One request for a password reset and/or user-ID information."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"), index=True)
    request_type: Mapped[RequestType] = mapped_column(_enum(RequestType))
    state: Mapped[TicketState] = mapped_column(_enum(TicketState), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome))
    round: Mapped[int] = mapped_column(Integer, default=1)
    missing: Mapped[list[str]] = mapped_column(default=list)
    incomplete_note: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    phone_confirmed_by: Mapped[str | None] = mapped_column(String(200))
    result_admin_id: Mapped[str | None] = mapped_column(String(64))
    result_admin_name: Mapped[str | None] = mapped_column(String(200))
    last_actor_name: Mapped[str | None] = mapped_column(String(200))
    admin_message_id: Mapped[str | None] = mapped_column(String(64))
    archive_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    # Closing the loop of step 8: the requester says they logged in and changed the password.
    confirmed_at: Mapped[datetime | None] = mapped_column()
    confirm_reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    incidents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The platform refused a message to the requester for good (blocked the bot): the card
    # shows it so an admin phones them; cleared when a later message gets through.
    requester_unreachable_at: Mapped[datetime | None] = mapped_column()
    # The update that submitted it ("telegram:<update id>"): a retry of that update after a
    # crash finds this ticket instead of making a second one.
    submitted_by_update: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Step 4 (the requester supplements): when they were reminded.
    supplement_reminded_at: Mapped[datetime | None] = mapped_column()
    # Retention ran: documents deleted and personal data blanked (UU 27/2022).
    purged_at: Mapped[datetime | None] = mapped_column()
    # Numbers of other tickets with the same NIP that were open alongside this one.
    same_nip_open: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # What a supplement changed in the identity: {"round", "field", "old", "new"} each.
    identity_changes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON(), default=list, server_default="[]"
    )
    # A requester whose reply window was closed or closing when an admin tapped Kirim hasil
    # was asked to say they are ready ("Siap menerima"); `ready_at` is when they did.
    ready_asked_at: Mapped[datetime | None] = mapped_column()
    ready_at: Mapped[datetime | None] = mapped_column()

    requester: Mapped[Requester] = relationship(back_populates="tickets", lazy="joined")
    documents: Mapped[list[Document]] = relationship(
        back_populates="ticket", order_by="Document.id", lazy="selectin"
    )
    steps: Mapped[list[StepRecord]] = relationship(
        back_populates="ticket", order_by="StepRecord.id", lazy="selectin"
    )
    links: Mapped[list[CredentialLink]] = relationship(
        order_by="CredentialLink.id", lazy="selectin"
    )
    # The outbox rows to the requester about this ticket: the card shows the newest sent
    # one's receipt (WhatsApp's ticks) and whether one is held (no template, window closed).
    requester_notices: Mapped[list[OutboxMessage]] = relationship(
        primaryjoin="and_(OutboxMessage.ticket_id == Ticket.id, "
        "OutboxMessage.audience == 'requester')",
        order_by="OutboxMessage.id",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def latest_link(self) -> CredentialLink | None:
        return self.links[-1] if self.links else None

    @property
    def open_step(self) -> StepRecord | None:
        """The step the ticket waits on (the newest unfinished one)."""
        return next((r for r in reversed(self.steps) if r.finished_at is None), None)


class Document(Base):
    """One page or file of the request letter or the SK, kept under STORAGE_DIR."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, 8))
    round: Mapped[int] = mapped_column(Integer, default=1)
    page: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))
    platform_file_id: Mapped[str | None] = mapped_column(String(200))
    original_name: Mapped[str | None] = mapped_column(String(255))
    # A PDF with an /Encrypt dictionary: it may not open without a password.
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="documents")


class StepRecord(Base):
    """One SOP step of one ticket: who, when, against which time standard, with what outcome."""

    __tablename__ = "step_records"
    __table_args__ = (Index("ix_step_records_open_due", "finished_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    step: Mapped[Step] = mapped_column(Integer)
    actor_id: Mapped[str | None] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    standard_minutes: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    # Deadlines on the office clock, computed when the step opens (None where N/A); the
    # reminder and the escalation are each claimed once by a conditional UPDATE.
    due_at: Mapped[datetime | None] = mapped_column()
    escalate_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    # Office time the step took, in seconds, set when it finishes.
    office_seconds: Mapped[int | None] = mapped_column(Integer)
    # A late step's explanation, asked of the admin who finished it.
    late_reason: Mapped[str | None] = mapped_column(Text)
    late_reason_by: Mapped[str | None] = mapped_column(String(200))

    @property
    def late(self) -> bool:
        """Finished past its standard (office time)."""
        return (
            self.standard_minutes is not None
            and self.office_seconds is not None
            and self.office_seconds > self.standard_minutes * 60
        )

    ticket: Mapped[Ticket] = relationship(back_populates="steps")


class AuditEvent(Base):
    """Who did what when. Never holds a secret, a link key or a full NIP."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[str | None] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """A message a state change causes, committed with it and delivered by the sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    audience: Mapped[str] = mapped_column(String(16))  # requester | admins | user
    channel: Mapped[str | None] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    # A reply to one update: its content sealed (it may echo a NIP or a phone number).
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What the platform answered: the message sent (or edited), for idempotent retries.
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    # The platform's last receipt for it (sent, delivered, read, failed) and when it came.
    receipt: Mapped[str | None] = mapped_column(String(16))
    receipt_at: Mapped[datetime | None] = mapped_column()
    # Held (not failed) while the chat's reply window is closed and no template carries it;
    # released when the person writes again.
    held_at: Mapped[datetime | None] = mapped_column()


class InboxUpdate(Base):
    """An update from a platform, kept from before it is acknowledged until it is handled.

    The unique (channel, update_id) makes a redelivery a no-op; the payload is sealed (it may
    hold a password typed by an admin) and dropped once handled.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_id"),
        Index("ix_inbox_pending", "handled_at", "chat_key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(128))
    chat_key: Mapped[str] = mapped_column(String(200))  # updates of one chat run in order
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(16))  # handled | ignored | failed
    error: Mapped[str | None] = mapped_column(String(200))


class ChatMigration(Base):
    """A group the platform moved to a new id (Telegram: group → supergroup)."""

    __tablename__ = "chat_migrations"
    __table_args__ = (UniqueConstraint("channel", "old_chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    old_chat_id: Mapped[str] = mapped_column(String(160))
    new_chat_id: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CredentialLink(Base):
    """A one-time link's bookkeeping. The link id is kept only as a hash; no key, no secret."""

    __tablename__ = "credential_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    # NULL from the row's creation (before the link is sent) until the hand-over is recorded:
    # a link still NULL long after is one whose recording never happened (a crash).
    sent_at: Mapped[datetime | None] = mapped_column()
    opened_at: Mapped[datetime | None] = mapped_column()  # revealed (the secret was taken)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    expired_at: Mapped[datetime | None] = mapped_column()  # the sweep found it expired unopened
    # The store no longer held its ciphertext though nobody took it (Redis lost its data).
    lost_at: Mapped[datetime | None] = mapped_column()
    first_viewed_at: Mapped[datetime | None] = mapped_column()  # the page (GET), not the secret
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refusals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The message that carried the link (sent outside the outbox) and its last receipt
    # (sent, delivered, read, failed), recorded only forward as an outbox row's.
    message_id: Mapped[str | None] = mapped_column(String(128))
    receipt: Mapped[str | None] = mapped_column(String(16))
    receipt_at: Mapped[datetime | None] = mapped_column()

    @property
    def state(self) -> str:
        """pending | sent | opened | revoked | lost | expired, as the admins see it (expired even
        before the sweep noticed)."""
        if self.opened_at is not None:
            return "opened"
        if self.revoked_at is not None:
            return "revoked"
        if self.lost_at is not None:
            return "lost"
        if self.expired_at is not None or self.expires_at <= utcnow():
            return "expired"
        if self.sent_at is None:
            return "pending"
        return "sent"


class KeyValueEntry(Base):
    """The embedded store's rows (used when REDIS_URL is empty): survives restarts."""

    __tablename__ = "kv_entries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
