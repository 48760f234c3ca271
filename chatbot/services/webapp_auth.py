"""Who opened the Mini App: verify Telegram Web App init data before trusting any of it.

Telegram signs the init data it hands a Mini App with a key derived from the bot token
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
``secret_key = HMAC-SHA256(key="WebAppData", msg=bot_token)`` and
``hash = hex(HMAC-SHA256(key=secret_key, msg=data_check_string))``, where the
data-check-string is every received field except ``hash`` as ``key=value`` (value
URL-decoded), sorted by key and joined with ``\\n``. The ``signature`` field (Ed25519, for
third parties) is one of those fields, so it stays in. Nothing here logs the init data or
the token; errors carry only a fixed reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from urllib.parse import parse_qsl

MAX_INIT_DATA_CHARS: Final = 4096
MAX_CLOCK_SKEW: Final = timedelta(seconds=60)

_SECRET_KEY_SALT: Final = b"WebAppData"
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")

Reason = Literal["missing", "malformed", "bad_signature", "expired", "no_user"]


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user the signed init data speaks for."""

    id: int
    first_name: str
    username: str | None


class InvalidInitData(Exception):
    """Init data that must not be trusted; ``reason`` says why, without echoing the data."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


def verify_init_data(
    init_data: str | None,
    bot_token: str,
    *,
    max_age: timedelta,
    now: datetime | None = None,
) -> WebAppUser:
    """Return the user of Telegram-signed, fresh init data; raise InvalidInitData otherwise."""
    if not bot_token:
        raise ValueError("bot token is empty")
    if not init_data:
        raise InvalidInitData("missing")
    fields = _parse(init_data)

    received_hash = fields.pop("hash", "")
    if not _HASH.fullmatch(received_hash):
        raise InvalidInitData("malformed")
    if not hmac.compare_digest(_sign(fields, bot_token), bytes.fromhex(received_hash)):
        raise InvalidInitData("bad_signature")

    _check_fresh(fields.get("auth_date", ""), max_age=max_age, now=now)
    return _user(fields.get("user", ""))


def _parse(init_data: str) -> dict[str, str]:
    """Split the query string strictly: one value per key, no line breaks to confuse the
    data-check-string."""
    if len(init_data) > MAX_INIT_DATA_CHARS:
        raise InvalidInitData("malformed")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:  # includes UnicodeDecodeError for bad percent-encoded UTF-8
        raise InvalidInitData("malformed") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields or not key or "=" in key or "\n" in key or "\n" in value:
            raise InvalidInitData("malformed")
        fields[key] = value
    return fields


def _sign(fields: dict[str, str], bot_token: str) -> bytes:
    """Telegram's HMAC over the data-check-string of ``fields`` (which exclude ``hash``)."""
    data_check_string = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret_key = hmac.new(_SECRET_KEY_SALT, bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, data_check_string.encode(), hashlib.sha256).digest()


def _check_fresh(auth_date: str, *, max_age: timedelta, now: datetime | None) -> None:
    """Refuse init data signed longer than ``max_age`` ago, or too far in the future."""
    if not _UNIX_SECONDS.fullmatch(auth_date):
        raise InvalidInitData("expired")
    current = now if now is not None else datetime.now(UTC)
    if current.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    age = timedelta(seconds=current.timestamp() - int(auth_date))
    if age > max_age or -age > MAX_CLOCK_SKEW:
        raise InvalidInitData("expired")


def _user(raw: str) -> WebAppUser:
    """The ``user`` field: a JSON object with a positive int ``id``."""
    try:
        data: object = json.loads(raw)
    except ValueError:
        raise InvalidInitData("no_user") from None
    if not isinstance(data, dict):
        raise InvalidInitData("no_user")
    user_id = data.get("id")
    first_name = data.get("first_name", "")
    username = data.get("username")
    if (
        not isinstance(user_id, int)
        or isinstance(user_id, bool)
        or user_id <= 0
        or not isinstance(first_name, str)
        or not (username is None or isinstance(username, str))
    ):
        raise InvalidInitData("no_user")
    return WebAppUser(id=user_id, first_name=first_name, username=username)
