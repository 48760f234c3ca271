"""WhatsApp's settings: on only when the token and the phone number id are set, and refused
at start-up when half set up (no app secret or verify token, a plain-http public address)."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.settings import Settings, SettingsError, load_settings

READY = {
    "whatsapp_token": "EAAGm0PX4ZCpsBAexampleexampleexample",
    "whatsapp_phone_number_id": "106540352242922",
    "whatsapp_app_secret": "0123456789abcdef0123456789abcdef",
    "whatsapp_verify_token": "verify-token_for-the-handshake",
    "public_url": "https://bot.example.go.id",
}


def settings(**values: Any) -> Settings:
    return load_settings(_env_file=None, telegram_bot_token=None, **values)


def test_whatsapp_is_off_by_default_and_on_with_token_and_number() -> None:
    off = settings()
    assert not off.whatsapp_enabled
    assert (off.whatsapp_api_url, off.whatsapp_api_version) == (
        "https://graph.facebook.com",
        "v23.0",
    )
    on = settings(**READY, whatsapp_waba_id="102290129340398")
    assert on.whatsapp_enabled
    assert on.whatsapp_token is not None and "EAAG" not in repr(on)  # secrets stay masked


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"whatsapp_phone_number_id": ""}, "WHATSAPP_PHONE_NUMBER_ID go together"),
        ({"whatsapp_token": ""}, "go together"),
        ({"whatsapp_app_secret": ""}, "WHATSAPP_APP_SECRET"),
        ({"whatsapp_verify_token": ""}, "WHATSAPP_VERIFY_TOKEN"),
        ({"public_url": "http://bot.example.go.id"}, "PUBLIC_URL must be https://"),
        ({"whatsapp_phone_number_id": "+62 812"}, "WHATSAPP_PHONE_NUMBER_ID"),
        ({"whatsapp_waba_id": "waba-1"}, "WHATSAPP_WABA_ID"),
        ({"whatsapp_verify_token": "short"}, "WHATSAPP_VERIFY_TOKEN"),
        ({"whatsapp_app_secret": "not a secret!"}, "WHATSAPP_APP_SECRET"),
        ({"whatsapp_token": "has spaces in it, 1234"}, "WHATSAPP_TOKEN"),
        ({"whatsapp_api_url": "graph.facebook.com"}, "WHATSAPP_API_URL"),
        ({"whatsapp_api_version": "23"}, "WHATSAPP_API_VERSION"),
    ],
)
def test_a_half_or_wrong_whatsapp_set_up_is_refused_naming_the_setting(
    changes: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        settings(**{**READY, **changes})


def test_a_local_public_url_and_a_local_test_double_are_allowed() -> None:
    local = settings(
        **{**READY, "public_url": "http://localhost:8080"},
        whatsapp_api_url="http://127.0.0.1:9000/",
    )
    assert local.whatsapp_enabled and local.whatsapp_api_url == "http://127.0.0.1:9000"
