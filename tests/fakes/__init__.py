"""Test doubles: a strict fake of the Telegram Bot API served over real HTTP."""

from tests.fakes.bot_api import ApiCall, ApiError, FakeBotApi, FakeMessage

__all__ = ["ApiCall", "ApiError", "FakeBotApi", "FakeMessage"]
