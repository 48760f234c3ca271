"""Structured logs: JSON and text formats, context fields, redaction of secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatbot.logs import (
    QUIET,
    JsonFormatter,
    RedactSecrets,
    bind_ticket,
    configure_logging,
    current_context,
    log_context,
    redact_secrets,
)

log = logging.getLogger("chatbot.test_logs")

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
NIP = "198503122010011004"

Capture = Callable[..., io.StringIO]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """configure_logging on a StringIO; the handler, root level and quiet levels undone."""
    root = logging.getLogger()
    root_level = root.level
    quiet_levels = {name: logging.getLogger(name).level for name in QUIET}
    handlers: list[logging.Handler] = []

    def configure(fmt: str = "text", level: str = "DEBUG") -> io.StringIO:
        stream = io.StringIO()
        handlers.append(configure_logging(level, stream, fmt))
        return stream

    yield configure
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(root_level)
    for name, level in quiet_levels.items():
        logging.getLogger(name).setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# ---- JSON format ---------------------------------------------------------------------------


def test_json_is_one_object_per_line_with_the_base_fields(capture: Capture) -> None:
    stream = capture("json")
    log.info("first %s", "line")
    log.warning("second\nline, still one JSON line")

    first, second = json_lines(stream)
    assert set(first) == {"ts", "level", "logger", "msg"}
    assert first["level"] == "INFO"
    assert first["logger"] == "chatbot.test_logs"
    assert first["msg"] == "first line"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert second["level"] == "WARNING"
    assert second["msg"] == "second\nline, still one JSON line"


def test_json_timestamp_is_utc_with_milliseconds() -> None:
    record = logging.makeLogRecord({"msg": "x", "created": 1767225600.123456})
    assert json.loads(JsonFormatter().format(record))["ts"] == "2026-01-01T00:00:00.123Z"


def test_json_carries_the_context_fields_with_their_types(capture: Capture) -> None:
    stream = capture("json")
    with log_context(update_id=123456789, channel="telegram", worker=None):
        log.info("handled")
    log.info("after")

    inside, after = json_lines(stream)
    assert inside["update_id"] == 123456789
    assert inside["channel"] == "telegram"
    assert "worker" not in inside
    assert set(after) == {"ts", "level", "logger", "msg"}


def test_json_exception_is_a_redacted_traceback(capture: Capture) -> None:
    stream = capture("json")
    try:
        raise RuntimeError(f"NIP {NIP} refused for +62 812-3456-7890")
    except RuntimeError:
        log.exception("sending to 0812-3456-7890 failed")

    (entry,) = json_lines(stream)
    assert entry["msg"] == "sending to \u20267890 failed"
    assert entry["exc"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: NIP \u20261004 refused for \u20267890" in entry["exc"]
    assert NIP not in stream.getvalue()
    assert "3456" not in stream.getvalue()


def test_json_has_no_exc_without_an_exception(capture: Capture) -> None:
    stream = capture("json")
    log.error("plain error")
    assert "exc" not in json_lines(stream)[0]


# ---- text format ---------------------------------------------------------------------------


def test_text_line_shows_the_context_fields(capture: Capture) -> None:
    stream = capture("text")
    with log_context(update_id=123, ticket="2026-0001", outbox_id=7):
        log.info("reply queued")
    log.info("no context")

    inside, after = stream.getvalue().splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO chatbot.test_logs: reply queued "
        r"\[update=123 ticket=2026-0001 outbox=7\]",
        inside,
    )
    assert after.endswith("chatbot.test_logs: no context")


def test_text_exception_is_redacted_and_context_stays_on_the_first_line(
    capture: Capture,
) -> None:
    stream = capture("text")
    with log_context(kind="reply"):
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            log.exception("outbox failed")

    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("outbox failed [kind=reply]")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad token <token>"
    assert "AAHdqTc" not in stream.getvalue()


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging("INFO", io.StringIO(), "xml")


def test_libraries_are_kept_quiet(capture: Capture) -> None:
    capture("text", "DEBUG")
    assert logging.getLogger().level == logging.DEBUG
    for name in QUIET:
        assert logging.getLogger(name).level == logging.WARNING


def test_making_a_pdf_writes_nothing_to_the_log(capture: Capture) -> None:
    """The lembar kendali and the report embed DejaVu: fontTools subsets it, chattily."""
    from fpdf import FPDF

    from chatbot.services.pdf_fonts import find_fonts

    stream = capture("text", "INFO")
    fonts = find_fonts()
    assert fonts is not None  # matplotlib ships DejaVu
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(fonts.regular))
    pdf.add_page()
    pdf.set_font("DejaVu", size=10)
    pdf.cell(0, 10, "Lembar kendali 2611-0042: Nguyễn Thị")
    assert bytes(pdf.output()).startswith(b"%PDF")
    assert stream.getvalue() == ""


# ---- context -------------------------------------------------------------------------------


def test_nested_contexts_merge_and_restore() -> None:
    assert current_context() == {}
    with log_context(update_id=1, channel="telegram"):
        with log_context(update_id=2, kind="callback", channel=None):
            assert current_context() == {"update_id": 2, "channel": "telegram", "kind": "callback"}
        assert current_context() == {"update_id": 1, "channel": "telegram"}
    assert current_context() == {}


def test_bind_ticket_lasts_until_the_block_ends(capture: Capture) -> None:
    stream = capture("json")
    with log_context(update_id=5):
        log.info("before")
        bind_ticket("2026-0001")
        log.info("after")
    assert current_context() == {}

    before, after = json_lines(stream)
    assert "ticket" not in before
    assert after["ticket"] == "2026-0001"
    assert after["update_id"] == 5


async def test_context_reaches_tasks_and_a_task_bind_stays_in_the_task(
    capture: Capture,
) -> None:
    stream = capture("json")

    async def child(name: str) -> None:
        bind_ticket(f"2026-000{name}")
        log.info("in task %s", name)

    with log_context(update_id=77, worker="w1"):
        async with asyncio.TaskGroup() as group:
            group.create_task(child("1"))
            group.create_task(child("2"))
        await asyncio.create_task(child("3"))
        assert "ticket" not in current_context()  # the tasks' binds stayed theirs
        log.info("parent")

    entries = json_lines(stream)
    tasks = {entry["msg"]: entry for entry in entries[:3]}
    for name in ("1", "2", "3"):
        assert tasks[f"in task {name}"]["update_id"] == 77
        assert tasks[f"in task {name}"]["worker"] == "w1"
        assert tasks[f"in task {name}"]["ticket"] == f"2026-000{name}"
    assert entries[3]["msg"] == "parent"
    assert "ticket" not in entries[3]


def test_unknown_context_key_is_rejected_at_once() -> None:
    with pytest.raises(ValueError, match="chat_id"):
        log_context(chat_id=12345)
    with pytest.raises(ValueError, match="nip"):
        log_context(ticket="2026-0001", nip=NIP)
    assert current_context() == {}


def test_context_values_must_be_str_or_int() -> None:
    with pytest.raises(TypeError):
        log_context(update_id=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        log_context(worker=True)


def test_a_secret_in_a_context_value_is_still_hidden(capture: Capture) -> None:
    stream = capture("text")
    with log_context(kind=f"odd {NIP}"):
        log.info("x")
    assert NIP not in stream.getvalue()
    assert "[kind=odd NIP \u20261004]" in stream.getvalue()


# ---- redaction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {TOKEN} rejected", "token <token> rejected"),
        (
            f"GET https://api.telegram.org/bot{TOKEN}/getMe",
            "GET https://api.telegram.org/bot<token>/getMe",
        ),
        (
            "link https://bot.example.go.id/s/AbC123xyz#k3y-S3cret_value sent",
            "link https://bot.example.go.id/s/*** sent",
        ),
        ("form /f/Zm9ybVRva2Vu opened", "form /f/*** opened"),
        (
            "share?url=https%3A%2F%2Fbot.example%2Fs%2FAbC123%23k3y&text=x",
            "share?url=https%3A%2F%2Fbot.example%2Fs%2F***&text=x",
        ),
        (
            "db postgresql+asyncpg://bot:s3cr3t@db:5432/chatbot down",
            "db postgresql+asyncpg://bot:***@db:5432/chatbot down",
        ),
        ("redis://:s3cr3t@redis:6379/0", "redis://:***@redis:6379/0"),
        (f"user NIP {NIP} checked", "user NIP \u20261004 checked"),
        (f"nip: {NIP}.", "NIP \u20261004."),
        (f"NIP.{NIP}", "NIP \u20261004"),
        (f"id {NIP}", "id NIP \u20261004"),
        ("NIP 1985 0312 2010 01 1 004 ok", "NIP \u20261004 ok"),
        ("19850312 201001 1 004", "NIP \u20261004"),
        ("1985.0312.2010.01.1.004", "NIP \u20261004"),
        ("HP +62 812-3456-7890", "HP \u20267890"),
        ("+6281234567890", "\u20267890"),
        ("+62-812 3456 7890", "\u20267890"),
        ("(6281234567890)", "(\u20267890)"),
        ("62 812 3456 7890", "\u20267890"),
        ("62812345678", "\u20265678"),
        ("call 0812-3456-7890 now", "call \u20267890 now"),
        ("0812 3456 7890", "\u20267890"),
        ("081234567890", "\u20267890"),
        ("081234567", "\u20264567"),
        ("0812345678901", "\u20268901"),
        ("kantor +62 21 555 1234", "kantor \u20261234"),
        (f"both {NIP} and 081234567890", "both NIP \u20261004 and \u20267890"),
    ],
)
def test_secrets_are_masked(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ticket 2026-0001 received",
        "tickets 2026-0001, 2026-0142 and 2027-1234",
        "duplicate update 123456789 skipped",
        "update 6281234567 handled",  # 10 digits: an update id, not a 62... phone number
        "update 812345678",
        "user 8123456789 pressed a button",
        "chat -1001234567890",
        "2026-01-05T08:30:00.123Z",
        "2026-08-12 08:30:00,123 INFO chatbot: ok",
        "at 08:30 on 08-12-2026",
        "listening on 127.0.0.1:8080, redis localhost:6379",
        "http://localhost:8080/healthz",
        "unix 1767225600 ms 1767225600123 ns 1767225600123456789",
        "two updates 123456789 987654321",  # 18 digits, but not a NIP's groups
        "sizes 1024 2048 4096 8192 16",  # 18 digits in groups, no birth date in front
        "ratio 0.012345678901234568",
        "float 1.0812345678",
        "outbox 42 (reply) failed after 3 attempts",
        "Rp 1.000.000",
        "python 3.11.9, version 1.2.3.4",
        "retry in 12:00:00 with code 1234567:short",
        "path /srv/chatbot/data/files/2026/01/doc.pdf",
        "08123",  # too short for a phone number
        "19 digits 1985031220100110045",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_secrets(text) == text


def test_redaction_is_idempotent() -> None:
    once = redact_secrets(f"{TOKEN} /s/abc#key {NIP} +62 812-3456-7890")
    assert redact_secrets(once) == once


def test_the_filter_redacts_the_formatted_message_and_clears_args(capture: Capture) -> None:
    stream = capture("json")
    log.info("NIP %s, phone %s", NIP, "0812-3456-7890")
    log.info("%(who)s at %(url)s", {"who": "0812 3456 7890", "url": "https://x/s/id#key"})
    log.info(RuntimeError(f"object message {NIP}"))

    assert [entry["msg"] for entry in json_lines(stream)] == [
        "NIP \u20261004, phone \u20267890",  # the label is not doubled
        "\u20267890 at https://x/s/***",
        "object message NIP \u20261004",
    ]


def test_filter_rewrites_the_record_itself() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", ("/s/id#key",), None)
    assert RedactSecrets().filter(record) is True
    assert record.msg == "key /s/***"
    assert record.args == ()


def test_a_bad_logging_call_neither_raises_nor_shows_its_arguments(capture: Capture) -> None:
    stream = capture("json")
    handler = logging.getLogger().handlers[-1]  # ours (pytest's own would raise first)
    record = log.makeRecord(log.name, logging.INFO, __file__, 1, "count %d", (NIP,), None)
    handler.handle(record)

    (entry,) = json_lines(stream)
    assert entry["msg"] == "count %d [log arguments could not be formatted]"
    assert NIP not in stream.getvalue()


def test_stack_info_is_redacted(capture: Capture) -> None:
    stream = capture("json")

    def deep(nip: str) -> None:
        log.info("where", stack_info=True)

    deep(NIP)
    (entry,) = json_lines(stream)
    assert entry["stack"].startswith("Stack (most recent call last):")
    assert "deep(NIP)" in entry["stack"]
