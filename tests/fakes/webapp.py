"""Init data signed the way Telegram signs what it hands a Mini App (``Telegram.WebApp.initData``).

Tests of the Mini App's server side use it to play a real Telegram client: the fields are
the ones clients send, the user is compact JSON, values are percent-encoded like
``encodeURIComponent`` and ``hash`` comes last. The signing is written out here on its own,
not taken from :mod:`chatbot.services.webapp_auth`, so the two check each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote, urlencode


def sign_fields(bot_token: str, fields: dict[str, str]) -> str:
    """Any ``fields`` (in their order) plus Telegram's ``hash`` over them, URL-encoded."""
    data_check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret_key, data_check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest}, quote_via=quote, safe="")


def sign_init_data(
    bot_token: str,
    *,
    user_id: int,
    first_name: str = "Budi",
    auth_date: int,
    extra: dict[str, str] | None = None,
) -> str:
    """Init data for ``user_id`` signed at ``auth_date``; ``extra`` fields are added (or
    replace the standard ones) before signing, e.g. ``start_param`` or ``signature``."""
    user = {
        "id": user_id,
        "first_name": first_name,
        "last_name": "",
        "username": f"user{user_id}",
        "language_code": "id",
        "allows_write_to_pm": True,
    }
    fields = {
        "query_id": f"AAH{user_id:012d}QAAAAA",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(auth_date),
        **(extra or {}),
    }
    return sign_fields(bot_token, fields)
