"""Test doubles: strict fakes of the Telegram Bot API and the WhatsApp Cloud API over HTTP."""

from tests.fakes.bot_api import ApiCall, ApiError, FakeBotApi, FakeMessage
from tests.fakes.graph_api import FakeGraphApi

__all__ = ["ApiCall", "ApiError", "FakeBotApi", "FakeGraphApi", "FakeMessage"]
