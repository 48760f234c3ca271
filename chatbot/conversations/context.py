"""What dialogs need from the layers below, wired once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from chatbot.conversations.messages import Incoming, Messenger
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.state import DialogStates
from chatbot.reports import MonthlyReports
from chatbot.services.archive import Archiver
from chatbot.services.credentials import CredentialVault
from chatbot.services.documents import DocumentStore, UploadQuota
from chatbot.services.forms import AdminForms
from chatbot.services.tickets import Actor, TicketService
from chatbot.store import Store


@dataclass(frozen=True)
class Services:
    tickets: TicketService
    files: DocumentStore
    vault: CredentialVault
    archiver: Archiver
    store: Store
    dialogs: DialogStates
    zone: ZoneInfo
    forms: AdminForms
    # Links may sit on buttons only when PUBLIC_URL is https (Telegram refuses others);
    # web_app: open them as Telegram Web Apps, bound to the user (WEBAPP_BINDING).
    https_links: bool = False
    web_app: bool = False
    # Step 4's wait on the requester: the ticket closes as expired after this long.
    supplement_expire_after: timedelta = timedelta(days=7)
    reports: MonthlyReports | None = None
    upload_quota: UploadQuota = field(default_factory=UploadQuota)


@dataclass(frozen=True)
class Context:
    """What a dialog works with while it answers one update from `channel`."""

    services: Services
    messengers: Messengers
    channel: str

    @property
    def messenger(self) -> Messenger:
        """The messenger of the chat being answered."""
        return self.messengers.of(self.channel)

    @property
    def admin_chat_id(self) -> str:
        return self.messengers.admin_chat_id

    def in_admin_group(self, inc: Incoming) -> bool:
        return inc.in_group and self.messengers.is_admin_group(inc.channel, inc.chat_id)


def admin_actor(inc: Incoming) -> Actor:
    """The admin who sent this, as the services record them."""
    return Actor(inc.actor_id, inc.user_name)
