"""Mini App init data: only what Telegram signed with our bot token, and only while fresh."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from chatbot.services.webapp_auth import (
    MAX_INIT_DATA_CHARS,
    InvalidInitData,
    WebAppUser,
    verify_init_data,
)
from tests.fakes.webapp import sign_fields, sign_init_data

TOKEN = "123456789:AAFakeTokenForWebAppTests_0123456789ab"
OTHER_TOKEN = "987654321:AAAnotherBotsTokenNotOurs_0123456789ab"
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
AUTH_DATE = int(NOW.timestamp()) - 30
MAX_AGE = timedelta(hours=1)
USER_ID = 555000111


def _verify(init_data: str | None, token: str = TOKEN, now: datetime = NOW) -> WebAppUser:
    return verify_init_data(init_data, token, max_age=MAX_AGE, now=now)


def _reason(init_data: str | None, token: str = TOKEN, now: datetime = NOW) -> str:
    with pytest.raises(InvalidInitData) as caught:
        _verify(init_data, token, now)
    return caught.value.reason


def _signed(**overrides: int) -> str:
    return sign_init_data(TOKEN, user_id=USER_ID, auth_date=overrides.get("auth_date", AUTH_DATE))


def _edit(init_data: str, change: Callable[[dict[str, str]], None]) -> str:
    """The same init data with its fields changed and the old hash kept, as a forger would."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    change(fields)
    return urlencode(fields, quote_via=quote, safe="")


def _set_user_id(fields: dict[str, str]) -> None:
    fields["user"] = json.dumps({**json.loads(fields["user"]), "id": 1}, separators=(",", ":"))


def _move_auth_date(fields: dict[str, str]) -> None:
    fields["auth_date"] = str(int(fields["auth_date"]) + 1)


def _flip_hash(fields: dict[str, str]) -> None:
    last = fields["hash"][-1]
    fields["hash"] = fields["hash"][:-1] + ("0" if last != "0" else "1")


def _add_field(fields: dict[str, str]) -> None:
    fields["start_param"] = "admin"
    fields["hash"] = fields.pop("hash")  # keep hash last, like a client


def _drop_query_id(fields: dict[str, str]) -> None:
    del fields["query_id"]


def test_valid_init_data_gives_the_user() -> None:
    user = _verify(_signed())

    assert user == WebAppUser(id=USER_ID, first_name="Budi", username=f"user{USER_ID}")


def test_known_vector_computed_step_by_step() -> None:
    # Telegram's documented algorithm, written out here without any helper of ours.
    token = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    user_json = '{"id":279058397,"first_name":"Sri Ayu","last_name":"","username":"sriayu"}'
    signature = (
        "nX2o_Mq4Wb7dvOcsmVEYh2p5B5PQnbUxHb0yEd6qLDlHt"  # Ed25519, base64url: opaque here
        "XYjTnFqKz2s2s9Jm0WZ5o0MBk8sRkO3eN6YnTQbAg"
    )
    data_check_string = (
        "auth_date=1740815970\n"
        "query_id=AAHdF6IQAAAAAN0XohDhrOrc\n"
        f"signature={signature}\n"
        f"user={user_json}"
    )
    secret_key = hmac.new(b"WebAppData", token.encode("utf-8"), hashlib.sha256).digest()
    expected_hash = hmac.new(
        secret_key, data_check_string.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    assert expected_hash == "ecf43ce475cb37b2839cd816cb8cd29078a7c773e7e2a89b85cbb26a1e4f6f59"
    init_data = (
        "query_id=AAHdF6IQAAAAAN0XohDhrOrc"
        "&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Sri%20Ayu%22%2C"
        "%22last_name%22%3A%22%22%2C%22username%22%3A%22sriayu%22%7D"
        "&auth_date=1740815970"
        f"&signature={signature}"
        f"&hash={expected_hash}"
    )
    now = datetime.fromtimestamp(1740815970 + 5, UTC)

    user = verify_init_data(init_data, token, max_age=MAX_AGE, now=now)

    assert user == WebAppUser(id=279058397, first_name="Sri Ayu", username="sriayu")


def test_signature_field_is_part_of_the_data_check_string() -> None:
    signed_with = sign_fields(TOKEN, {"auth_date": str(AUTH_DATE), "user": '{"id":7}'})
    with_signature_added = signed_with.replace("&hash=", "&signature=abc&hash=")

    assert _reason(with_signature_added) == "bad_signature"


@pytest.mark.parametrize(
    "tamper",
    [_set_user_id, _move_auth_date, _flip_hash, _add_field, _drop_query_id],
    ids=["user_id", "auth_date", "hash", "added_field", "removed_field"],
)
def test_tampered_init_data_is_refused(tamper: Callable[[dict[str, str]], None]) -> None:
    original = _signed()
    tampered = _edit(original, tamper)

    assert tampered != original
    assert _reason(tampered) == "bad_signature"


def test_another_bots_init_data_is_refused() -> None:
    assert _reason(_signed(), token=OTHER_TOKEN) == "bad_signature"


def test_init_data_exactly_max_age_old_is_still_fresh() -> None:
    assert _verify(_signed(auth_date=int(NOW.timestamp() - MAX_AGE.total_seconds()))).id == USER_ID


def test_init_data_older_than_max_age_is_expired() -> None:
    stale = int(NOW.timestamp() - MAX_AGE.total_seconds()) - 1

    assert _reason(_signed(auth_date=stale)) == "expired"


def test_clock_skew_up_to_a_minute_is_allowed() -> None:
    assert _verify(_signed(auth_date=int(NOW.timestamp()) + 60)).id == USER_ID


def test_auth_date_in_the_future_is_expired() -> None:
    assert _reason(_signed(auth_date=int(NOW.timestamp()) + 61)) == "expired"


@pytest.mark.parametrize("auth_date", [None, "", "soon", "-5", "1.5", " 1740815970", "١٢٣"])
def test_missing_or_odd_auth_date_is_expired(auth_date: str | None) -> None:
    fields = {"query_id": "AAH", "user": f'{{"id":{USER_ID}}}'}
    if auth_date is not None:
        fields["auth_date"] = auth_date

    assert _reason(sign_fields(TOKEN, fields)) == "expired"


@pytest.mark.parametrize("init_data", [None, ""])
def test_missing_init_data(init_data: str | None) -> None:
    assert _reason(init_data) == "missing"


@pytest.mark.parametrize(
    "init_data",
    [
        "garbage",
        "a=1&&b=2",
        "user=%FF&auth_date=1&hash=" + "0" * 64,  # not UTF-8
        "user=%7B%7D&auth_date=1",  # no hash
        "user=%7B%7D&auth_date=1&hash=" + "0" * 63,  # hash too short
        "user=%7B%7D&auth_date=1&hash=" + "g" * 64,  # hash not hex
        "a%3Db=1&hash=" + "0" * 64,  # "=" inside a key
        "user=%7B%7D%0Aauth_date%3D1&hash=" + "0" * 64,  # line break inside a value
    ],
    ids=["garbage", "empty_pair", "bad_utf8", "no_hash", "short_hash", "hex", "key_eq", "newline"],
)
def test_garbage_is_malformed(init_data: str) -> None:
    assert _reason(init_data) == "malformed"


@pytest.mark.parametrize("duplicate", ["auth_date", "user", "hash"])
def test_duplicate_keys_are_malformed(duplicate: str) -> None:
    valid = _signed()
    value = dict(parse_qsl(valid))[duplicate]

    assert _reason(f"{valid}&{duplicate}={quote(value, safe='')}") == "malformed"


def _signed_with_length(length: int) -> str:
    base = sign_init_data(TOKEN, user_id=USER_ID, auth_date=AUTH_DATE, extra={"start_param": ""})
    padding = "p" * (length - len(base))
    init_data = sign_init_data(
        TOKEN, user_id=USER_ID, auth_date=AUTH_DATE, extra={"start_param": padding}
    )
    assert len(init_data) == length
    return init_data


def test_init_data_up_to_the_limit_is_accepted() -> None:
    assert _verify(_signed_with_length(MAX_INIT_DATA_CHARS)).id == USER_ID


def test_overlong_init_data_is_malformed_even_when_signed() -> None:
    assert _reason(_signed_with_length(MAX_INIT_DATA_CHARS + 1)) == "malformed"


@pytest.mark.parametrize(
    "user",
    [None, "", "not json", "[1,2]", "{}", '{"id":"42"}', '{"id":true}', '{"id":0}', '{"id":1.5}'],
)
def test_signed_init_data_without_a_usable_user(user: str | None) -> None:
    fields = {"query_id": "AAH", "auth_date": str(AUTH_DATE)}
    if user is not None:
        fields["user"] = user

    assert _reason(sign_fields(TOKEN, fields)) == "no_user"


def test_user_without_username() -> None:
    init_data = sign_fields(
        TOKEN, {"auth_date": str(AUTH_DATE), "user": '{"id":42,"first_name":"Ani"}'}
    )

    assert _verify(init_data) == WebAppUser(id=42, first_name="Ani", username=None)


def test_errors_and_logs_never_carry_the_data_or_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tampered = _edit(_signed(), _set_user_id)

    with pytest.raises(InvalidInitData) as caught:
        _verify(tampered)

    assert str(caught.value) == "bad_signature"
    assert caught.value.args == ("bad_signature",)
    assert TOKEN not in caplog.text
    assert "555000111" not in caplog.text
    assert caplog.records == []


def test_programming_errors_are_not_init_data_errors() -> None:
    with pytest.raises(ValueError, match="bot token"):
        verify_init_data(_signed(), "", max_age=MAX_AGE, now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        _verify(_signed(), now=NOW.replace(tzinfo=None))
