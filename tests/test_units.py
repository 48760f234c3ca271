"""Small rules users notice: settings errors, NIP checks, button sizes, file types."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chatbot.conversations import texts as t
from chatbot.conversations.card_taps import CARD_ACTIONS
from chatbot.conversations.payloads import (
    UNVERSIONED,
    AdminAction,
    AdminPayload,
    DialogPayload,
    PayloadError,
    RequesterAction,
    RequesterPayload,
    decode,
)
from chatbot.conversations.requester import TICKET_BUTTONS
from chatbot.services.documents import DocumentStore
from chatbot.services.enums import MissingItem
from chatbot.services.identity import (
    InvalidInput,
    clean_text,
    normalize_email,
    normalize_nip,
    normalize_phone,
)
from chatbot.services.tickets import parse_ticket_number
from chatbot.settings import SettingsError, load_settings
from tests.factories import JPEG_1PX, pdf_bytes, png_bytes


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, "TELEGRAM_ADMIN_CHAT_ID is required"),
        ({"TELEGRAM_ADMIN_CHAT_ID": "grup"}, "setting TELEGRAM_ADMIN_CHAT_ID"),
        ({"CREDENTIAL_LINK_TTL": "48h"}, "setting CREDENTIAL_LINK_TTL: must be between"),
        ({"CREDENTIAL_LINK_TTL": "sehari"}, "setting CREDENTIAL_LINK_TTL: use a number"),
        ({"DATABASE_URL": "mysql://x"}, "setting DATABASE_URL"),
        ({"TIMEZONE": "Asia/Magelang"}, "setting TIMEZONE: unknown time zone"),
        ({"PUBLIC_URL": "bot.example"}, "setting PUBLIC_URL"),
        ({"WEB_PORT": "99999"}, "setting WEB_PORT"),
        ({"METRICS_TOKEN": "too short"}, "setting METRICS_TOKEN: use 16 to 256 characters"),
        ({"ADMIN_FORM_TTL": "1d"}, "setting ADMIN_FORM_TTL: must be between 2m and 2h"),
        ({"CONFIRM_MAX_REMINDERS": "-1"}, "setting CONFIRM_MAX_REMINDERS"),
        ({"WEBAPP_BINDING": "true"}, "WEBAPP_BINDING needs an https:// PUBLIC_URL"),
        (
            {"WEBAPP_BINDING": "true", "PUBLIC_URL": "https://bot.example.go.id"},
            "WEBAPP_BINDING needs TELEGRAM_BOT_TOKEN",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": "1:x",
                "TELEGRAM_ADMIN_CHAT_ID": "-100",
                "PUBLIC_URL": "http://bot.example.go.id",
            },
            "PUBLIC_URL must be https://",
        ),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None)
    assert named in str(error.value)
    assert "\n" not in str(error.value)


def test_settings_accept_what_operators_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_ADMIN_USER_IDS", "11, 22;33")
    monkeypatch.setenv("CREDENTIAL_LINK_TTL", "90m")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db/spse")
    settings = load_settings(_env_file=None)
    assert settings.telegram_admin_user_ids == {11, 22, 33}
    assert settings.credential_link_ttl == timedelta(minutes=90)
    assert settings.database_url == "postgresql+asyncpg://bot@db/spse"


def test_a_one_time_link_lives_two_hours_unless_told_otherwise() -> None:
    settings = load_settings(_env_file=None)
    assert settings.credential_link_ttl == timedelta(hours=2)
    assert settings.admin_form_ttl == timedelta(minutes=15)


def test_generated_passwords_are_strong_and_pass_the_check() -> None:
    from chatbot.services import passwords

    made = {passwords.generate() for _ in range(200)}
    assert len(made) == 200  # random, not a fixed pattern
    for password in made:
        assert len(password) == 14 and passwords.problem(password) is None
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(c in passwords.SYMBOLS for c in password)
        assert not set(password) & set("0O1lI ")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("Ab3", "minimal 8"),
        ("x" * 60 + "A1" + "y" * 10, "maksimal 64"),
        ("Spse 2026x", "spasi"),
        ("passwordsaja", "huruf dan angka"),
        ("1234567890", "huruf dan angka"),
    ],
)
def test_a_password_spse_would_refuse_is_named(typed: str, reason: str) -> None:
    from chatbot.services import passwords

    problem = passwords.problem(typed)
    assert problem is not None and reason in problem


HIDDEN = {
    "nul": "\x00",
    "right-to-left-override": "\u202e",
    "zero-width-space": "\u200b",
    "byte-order-mark": "\ufeff",
    "delete": "\x7f",
    "private-use": "\ue000",
    "lone-surrogate": "\ud800",
}


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_password_with_an_invisible_or_control_character_is_refused(hidden: str) -> None:
    from chatbot.services import passwords

    problem = passwords.problem(f"Mulai{hidden}2026x")
    assert problem is not None and "karakter tak terlihat" in problem


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_user_id_or_name_with_an_invisible_or_control_character_is_refused(
    hidden: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_text(f"budi{hidden}.pu", field="User ID")
    assert (
        t.invalid_input(refused.value)
        == "User ID mengandung karakter tak terlihat atau karakter kontrol."
    )


def test_typed_text_keeps_letters_of_any_script_and_makes_whitespace_one_space() -> None:
    """Line and paragraph separators are whitespace: made a space like a tab or a newline."""
    assert clean_text("  Nguyễn\tThị\n Łucja 李明 😀 ", field="Nama") == "Nguyễn Thị Łucja 李明 😀"
    assert clean_text("budi\u2028pu", field="User ID") == "budi pu"


def test_the_cli_stops_with_the_settings_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chatbot.cli import main

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.delenv("TELEGRAM_ADMIN_CHAT_ID", raising=False)
    monkeypatch.chdir("/")
    assert main(["db", "upgrade"]) == 2
    assert "TELEGRAM_ADMIN_CHAT_ID is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    "raw", ["198503122010011004", "19850312 201001 1 004", "19850312.201001.1.004"]
)
def test_a_nip_may_be_written_with_spaces_or_dots(raw: str) -> None:
    assert normalize_nip(raw, today=date(2026, 11, 23)) == "198503122010011004"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("19850312201001100", "harus 18 angka; yang Anda kirim 17"),
        ("1985031220100110045", "harus 18 angka; yang Anda kirim 19"),
        ("19850312201001100X", "hanya berisi angka"),
        ("198502302010011004", "tanggal lahir"),
        ("203001012010011004", "tanggal lahir"),
        ("", "harus 18 angka"),
    ],
)
def test_a_malformed_nip_says_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        normalize_nip(raw, today=date(2026, 11, 23))
    assert reason in t.invalid_input(bad.value)


@pytest.mark.parametrize(
    "raw",
    [
        "١٩٨٥٠٣١٢٢٠١٠٠١١٠٠٤",  # Arabic-Indic digits
        "۱۹۸۵۰۳۱۲ ۲۰۱۰۰۱ ۱ ۰۰۴",  # Extended Arabic-Indic (Persian) digits, grouped
        "１９８５０３１２２０１００１１００４",  # full-width digits
    ],
)
def test_a_nip_in_other_scripts_digits_is_stored_in_ascii(raw: str) -> None:
    assert normalize_nip(raw, today=date(2026, 11, 23)) == "198503122010011004"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("198503122010131004", "bulan pengangkatan"),  # appointed in month 13
        ("198503122010001004", "bulan pengangkatan"),  # month 00
        ("19850312201001100²", "hanya berisi angka"),  # a superscript is no decimal digit
    ],
)
def test_a_nip_with_an_impossible_appointment_month_is_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        normalize_nip(raw, today=date(2026, 11, 23))
    assert reason in t.invalid_input(bad.value)


def test_emails_and_phones_are_normalised() -> None:
    assert normalize_email(" Budi@MagelangKota.go.id ") == "Budi@magelangkota.go.id"
    assert normalize_phone("0812-3456-7890") == "+6281234567890"
    with pytest.raises(InvalidInput):
        normalize_email("budi@")
    with pytest.raises(InvalidInput):
        normalize_phone("12")


def test_the_largest_button_payloads_fit_telegram() -> None:
    huge = 10**12 - 1
    payloads = [AdminPayload(action, huge, huge, "identity").encode() for action in AdminAction] + [
        RequesterPayload(action, huge).encode() for action in RequesterAction
    ]
    assert max(len(p.encode()) for p in payloads) <= 64
    assert decode(AdminPayload(AdminAction.TOGGLE, 7, 3, "sk").encode()) == AdminPayload(
        AdminAction.TOGGLE, 7, 3, "sk"
    )
    with pytest.raises(PayloadError):
        DialogPayload("type", "x" * 80).encode()


@pytest.mark.parametrize(
    "data",
    ["", "a|ok|1|2", "a|zz|1|2|", "a|ok|-1|2|", "a|ok|1|x|", "r|cx", "d||x", "x" * 65, "{}"],
)
def test_malformed_payloads_are_refused(data: str) -> None:
    with pytest.raises(PayloadError):
        decode(data)


def test_every_admin_actions_largest_valid_payload_fits_and_decodes_back() -> None:
    huge = 10**12 - 1
    widest = {
        AdminAction.TOGGLE: max((item.value for item in MissingItem), key=len),
        AdminAction.REASON: "99",
        AdminAction.LATE: f"{huge}.99",
    }
    for action in AdminAction:
        version = 0 if action in UNVERSIONED else huge
        payload = AdminPayload(action, huge, version, widest.get(action, ""))
        data = payload.encode()
        assert len(data.encode()) <= 64, action
        assert decode(data) == payload


def test_every_card_button_bound_to_a_version_has_an_action() -> None:
    assert set(CARD_ACTIONS) == set(AdminAction) - UNVERSIONED


def test_every_button_under_a_requester_ticket_has_an_action() -> None:
    assert set(TICKET_BUTTONS) == set(RequesterAction)


@pytest.mark.parametrize(
    "data",
    [
        "a|tg|1|2|garbage",  # not a missing item
        "a|tg|1|2|",
        "a|ok|1|2|x",  # no argument expected
        "a|re|1|2|1",
        "a|rs|1|2|x",  # a preset index
        "a|rs|1|2|٣",  # non-ASCII digit
        "a|rs|1|2|007",
        "a|lt|1|0|5",  # "<record>.<choice>"
        "a|lt|1|0|5.y",
        "a|lt|1|0|.1",
        "a|lt|1|2|5.1",  # a late question is not bound to a version
        "a|cd|1|3|",
        "a|ok|1|0|",  # a card button always is
        "a|ok|0|1|",  # no ticket 0
        "a|ok|01|1|",
        "a|ok|1|²|",
        "a|ok|1|+1|",
        "r|cx|0",
        "r|cx|٣",
    ],
)
def test_payloads_are_decoded_strictly_per_action(data: str) -> None:
    with pytest.raises(PayloadError):
        decode(data)


def test_ticket_numbers_are_understood_with_or_without_the_dash() -> None:
    assert parse_ticket_number("2611-0042") == "2611-0042"
    assert parse_ticket_number("tiket 26110042") == "2611-0042"
    assert parse_ticket_number("halo") is None


def test_files_are_judged_by_content_not_by_name(tmp_path: object) -> None:
    from pathlib import Path

    store = DocumentStore(Path(str(tmp_path)), max_bytes=1024 * 1024)
    assert store.keep(pdf_bytes()).mime == "application/pdf"
    assert store.keep(png_bytes()).mime == "image/png"
    assert store.keep(JPEG_1PX, original_name="scan.pdf").mime == "image/jpeg"
    with pytest.raises(InvalidInput) as refused:
        store.keep(b"PK\x03\x04" + b"\x00" * 100, original_name="surat.pdf")
    assert "tidak diterima" in t.invalid_input(refused.value)
    with pytest.raises(InvalidInput) as refused:
        store.check_size(2 * 1024 * 1024)
    assert "terlalu besar" in t.invalid_input(refused.value)
    same = store.keep(pdf_bytes())
    assert (Path(str(tmp_path)) / same.path).read_bytes() == pdf_bytes()


def test_ipv6_clients_share_a_rate_limit_bucket_per_64_block() -> None:
    from starlette.requests import Request

    from chatbot.web.guards import client_address

    def address(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1234), "headers": []}))

    assert address("2001:db8:1:2::1") == address("2001:db8:1:2:ffff::9")
    assert address("2001:db8:1:2::1") != address("2001:db8:1:3::1")
    assert address("203.0.113.5") == "203.0.113.5"


def test_a_postgresql_restart_counts_as_an_outage_and_a_bug_does_not() -> None:
    from asyncpg.exceptions import CannotConnectNowError, TooManyConnectionsError
    from sqlalchemy.exc import DBAPIError

    from chatbot.services.outages import is_outage

    def wrapped(cause: BaseException) -> DBAPIError:
        try:
            try:
                raise cause
            except Exception as inner:
                raise RuntimeError("adapted") from inner
        except RuntimeError as middle:
            error = DBAPIError("SELECT 1", {}, middle)
            error.__cause__ = middle
            return error

    assert is_outage(wrapped(CannotConnectNowError("the database system is shutting down")))
    assert is_outage(wrapped(TooManyConnectionsError("sorry, too many clients already")))
    assert is_outage(ConnectionRefusedError())
    assert not is_outage(wrapped(ValueError("a bug")))
    assert not is_outage(FileNotFoundError("a missing document is no outage"))
