"""The draft of a request (intake) or of a ticket's missing parts (supplement), typed.

It is kept in the store as plain JSON (`DialogState.data`): the keys below are the keys
stored before this type existed, so dialogs saved by an older version still load.
"""

from __future__ import annotations

from typing import TypedDict, cast

from chatbot.conversations.context import Context
from chatbot.conversations.messages import Incoming
from chatbot.conversations.state import DialogState
from chatbot.services.documents import DraftUploads, StoredFile
from chatbot.services.enums import DocumentKind
from chatbot.services.identity import Identity
from chatbot.services.tickets import NewDocument


class Draft(TypedDict, total=False):
    """A request being written (intake) or a ticket being completed (supplement)."""

    order: list[str]  # the steps of this dialog, the last one its summary
    channel: str  # where the request is written (a question may be worded for it)
    pages: dict[str, list[dict[str, object]]]  # document kind -> stored files
    editing: bool  # a field picked from "Ubah data": back to the summary after it
    type: str
    role: str
    name: str
    nip: str
    unit: str
    spse_id: str | None
    email: str
    phone: str | None
    phone_verified: bool
    ticket_id: int  # supplement only
    number: str | None  # supplement only (the ticket number)


def draft(state: DialogState) -> Draft:
    """The dialog's data, typed; a view on the same dict, so changes are kept."""
    return cast(Draft, state.data)


def page_counts(state: DialogState) -> dict[str, int]:
    """How many files each document of the draft has."""
    return {k: len(v) for k, v in draft(state).get("pages", {}).items()}


def draft_uploads(ctx: Context, inc: Incoming) -> tuple[DraftUploads, str]:
    """The chat's uploads into requests not sent yet, and the chat's key for them."""
    drafts = DraftUploads(ctx.services.store, ctx.services.upload_quota)
    return drafts, f"{inc.channel}:{inc.chat_id}"


def identity_of(data: Draft) -> Identity:
    """The person as the draft names them, for the ticket service."""
    spse_id, phone = data.get("spse_id"), data.get("phone")
    return Identity(
        name=str(data["name"]),
        nip=str(data["nip"]),
        role=str(data["role"]),
        work_unit=str(data["unit"]),
        email=str(data["email"]),
        spse_user_id=str(spse_id) if spse_id else None,
        phone=str(phone) if phone else None,
        phone_verified=bool(data.get("phone_verified")),
    )


async def release_uploads(ctx: Context, inc: Incoming, data: Draft) -> None:
    """The sent request's files belong to its ticket now: no longer the chat's quota."""
    drafts, chat = draft_uploads(ctx, inc)
    await drafts.release(chat, [doc.file for doc in documents_of(data)])


def documents_of(data: Draft) -> list[NewDocument]:
    """The draft's files, the letter's pages first."""
    pages = data.get("pages", {})
    return [
        NewDocument(DocumentKind(kind), StoredFile.from_dict(page))
        for kind in (DocumentKind.LETTER.value, DocumentKind.SK.value)
        for page in pages.get(kind, [])
    ]
