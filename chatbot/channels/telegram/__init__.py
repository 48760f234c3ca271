"""The Telegram channel: mapping, messenger, and the adapter that feeds the pipeline."""

from chatbot.channels.telegram.channel import TelegramChannel
from chatbot.channels.telegram.mapping import CHANNEL, to_incoming
from chatbot.channels.telegram.messenger import TelegramMessenger

__all__ = ["CHANNEL", "TelegramChannel", "TelegramMessenger", "to_incoming"]
