"""The console channel: the whole SOP in a terminal, with no Telegram token.

One person plays four chats in turn: the requester's private chat with the bot, a
requester's WhatsApp chat (its own channel "console-wa", printed as WhatsApp shows it:
whatsapp.py), the Admin Agency's group, and an admin's private chat with the bot (where
results are handed over).
Every message the bot sends to any of them is printed with a header naming the chat; buttons
are numbered and pressed by typing the number. What is typed takes the same path as a
Telegram update (the pipeline's inbox, worker, router and outbox): the console brings only
its adapter, its messenger and the terminal. `chatbot.runner.run_console` runs it.
"""

from chatbot.channels.console.adapter import ConsoleAdapter, console_update
from chatbot.channels.console.messenger import ConsoleMessenger, Shown
from chatbot.channels.console.personas import (
    ADMIN_CHAT_ID,
    ADMIN_PRIVATE,
    CHANNEL,
    GROUP,
    PERSONAS,
    REQUESTER,
    REQUESTER_WA,
    WA_CHANNEL,
    Persona,
    chat_name,
)
from chatbot.channels.console.session import ConsoleSession
from chatbot.channels.console.whatsapp import WhatsAppConsoleMessenger

__all__ = [
    "ADMIN_CHAT_ID",
    "ADMIN_PRIVATE",
    "CHANNEL",
    "GROUP",
    "PERSONAS",
    "REQUESTER",
    "REQUESTER_WA",
    "WA_CHANNEL",
    "ConsoleAdapter",
    "ConsoleMessenger",
    "ConsoleSession",
    "Persona",
    "Shown",
    "WhatsAppConsoleMessenger",
    "chat_name",
    "console_update",
]
