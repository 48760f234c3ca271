"""What dialogs need from the layers below, wired once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from chatbot.conversations.messages import Messenger
from chatbot.conversations.state import DialogStates
from chatbot.services.archive import Archiver
from chatbot.services.credentials import CredentialVault
from chatbot.services.documents import DocumentStore
from chatbot.services.tickets import TicketService
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


@dataclass(frozen=True)
class Context:
    services: Services
    messenger: Messenger
