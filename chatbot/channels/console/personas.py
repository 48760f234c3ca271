"""Who the person at the console plays: the requester, a requester on WhatsApp (played on
the console's own WhatsApp-like channel), an admin in the Admin Agency's group, or that admin
in their private chat with the bot; and how the console names each chat."""

from __future__ import annotations

from dataclasses import dataclass

CHANNEL = "console"
# The requester who plays WhatsApp: a channel of its own, so the pipeline keeps it apart
# from the console's Telegram-like chats, and its replies are rendered as on WhatsApp.
WA_CHANNEL = "console-wa"
ADMIN_CHAT_ID = "-100"
DEFAULT_PHONE = "+6281200001001"


@dataclass(frozen=True)
class Persona:
    """Who is typing, and in which chat."""

    key: str  # what the prompt shows
    where: str  # said when switching to this persona
    chat_id: str
    user_id: str
    user_name: str
    in_group: bool = False
    is_admin: bool = False
    channel: str = CHANNEL
    # The number the platform vouches for (WhatsApp: the number that writes), in E.164.
    phone: str | None = None


REQUESTER = Persona("pemohon", "di chat pribadi dengan bot", "1001", "1001", "Pemohon Uji")
GROUP = Persona(
    "grup admin", "di grup admin agency", ADMIN_CHAT_ID, "9001", "Admin Uji", True, True
)
ADMIN_PRIVATE = Persona("admin pribadi", "di chat pribadi dengan bot", "9001", "9001", "Admin Uji")
# As on WhatsApp: the chat is the number (wa_id), and the person is the chat.
WA_PHONE = "+6281200002002"
REQUESTER_WA = Persona(
    "pemohon-wa",
    "di WhatsApp dengan bot (nomor +62 812-0000-2002)",
    WA_PHONE.removeprefix("+"),
    WA_PHONE.removeprefix("+"),
    "Pemohon WA",
    channel=WA_CHANNEL,
    phone=WA_PHONE,
)
# By the console command that switches to them (":grup").
PERSONAS = {
    "pemohon": REQUESTER,
    "pemohon-wa": REQUESTER_WA,
    "grup": GROUP,
    "admin": ADMIN_PRIVATE,
}
CHAT_NAMES = {
    REQUESTER.chat_id: "pemohon",
    REQUESTER_WA.chat_id: "pemohon (WhatsApp)",
    GROUP.chat_id: "grup admin",
    ADMIN_PRIVATE.chat_id: "admin (pribadi)",
}


def chat_name(chat_id: str) -> str:
    return CHAT_NAMES.get(chat_id, f"chat {chat_id}")


def persona_in(chat_id: str, channel: str = CHANNEL) -> Persona | None:
    """The persona who types in a chat of the channel: each of the console's chats has one."""
    return next(
        (p for p in PERSONAS.values() if p.chat_id == chat_id and p.channel == channel), None
    )
