"""Logging set-up: readable lines or JSON, context fields, secrets redacted, libraries quiet.

- `configure_logging(level, stream, fmt)` puts one handler on the root logger: "text" gives
  readable lines for a terminal, "json" one object per line for a log collector.
- `log_context(update_id=..., ticket=...)` and `bind_ticket(number)` add context fields to
  every line logged meanwhile (contextvars: they follow asyncio tasks created inside).
- `RedactSecrets`, on that handler, rewrites each message and traceback before it is
  written: link paths and keys, Bot API tokens, URL passwords, NIPs and phone numbers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TextIO

from chatbot.web.security import redact as redact_link_paths

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

# These log request URLs (Bot API URLs hold the token), SQL parameters (which hold store
# keys) or, in python-telegram-bot's case, every call's parameters (link keys, the admin's
# password message) at INFO/DEBUG: keep them quiet whatever LOG_LEVEL says.
QUIET = (
    "httpx",
    "httpcore",
    "aiosqlite",
    "sqlalchemy.engine",
    "asyncpg",
    "telegram",
    "alembic.runtime.plugins",  # a dozen lines of plugin set-up at every start
    "fontTools",  # dozens of lines per font each time fpdf2 subsets one into a PDF
)

# ---- context fields ------------------------------------------------------------------------

# The only keys a context may carry, in the order they are written. A fixed list, so nobody
# logs a chat id, a NIP or a name through it.
CONTEXT_KEYS = ("update_id", "ticket", "channel", "worker", "outbox_id", "kind")
# Shorter labels for readable lines: `[update=123 ticket=2026-0001]`.
_TEXT_LABELS = {"update_id": "update", "outbox_id": "outbox"}

ContextValue = str | int
_EMPTY: Mapping[str, ContextValue] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, ContextValue]] = ContextVar("chatbot_log_context", default=_EMPTY)


def _checked(fields: Mapping[str, object]) -> dict[str, ContextValue]:
    unknown = sorted(set(fields) - set(CONTEXT_KEYS))
    if unknown:
        raise ValueError(
            f"unknown log context key(s) {', '.join(unknown)}; allowed: {', '.join(CONTEXT_KEYS)}"
        )
    values: dict[str, ContextValue] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"log context {key} must be a str or an int, not {type(value)}")
        values[key] = value
    return values


def current_context() -> Mapping[str, ContextValue]:
    """The context fields in force here (read-only)."""
    return _CONTEXT.get()


@contextlib.contextmanager
def _merged(values: dict[str, ContextValue]) -> Iterator[None]:
    token = _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **values}))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def log_context(**fields: str | int | None) -> contextlib.AbstractContextManager[None]:
    """Add fields to every line logged inside the `with` block (and the tasks it starts).

    Nested blocks merge, the inner value winning; None values are left out (an outer value
    stays). Leaving the block restores what was there, including a `bind_ticket` made
    inside it. Unknown keys raise ValueError at once.
    """
    return _merged(_checked(fields))


def bind_ticket(number: str) -> None:
    """Add `ticket` to the current context, e.g. once a handler has found the ticket.

    It lasts until the enclosing `log_context` block ends (or the current asyncio task does;
    it never reaches the task that started this one): call it inside a block.
    """
    values = _checked({"ticket": number})
    _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **values}))


# ---- redaction -----------------------------------------------------------------------------

# A Bot API token: `<bot id>:<secret>`, also inside `.../bot<token>/getMe`.
_TOKEN = re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}")
# A password in a URL: `scheme://user:password@host`.
_URL_PASSWORD = re.compile(r"(://[^\s/@:]*):[^\s/@]+@")
# A link or form path percent-encoded inside another URL (`%2Fs%2F<id>%23<key>`).
_ENCODED_LINK_PATH = re.compile(r"%2F([sf])%2F[^\s\"'&]*", re.IGNORECASE)
# 18 digits, optionally written in groups split by one space or dot, optionally labelled.
# Not after a digit and a dot: the decimals of a float are not a NIP.
_NIP = re.compile(r"(?:\bNIP\s*[:=.]?\s*)?(?<!\d)(?<!\d\.)(\d(?:[ .]?\d){17})(?!\d)", re.IGNORECASE)
_NIP_SEPARATOR = re.compile(r"[ .]")
# Indonesian phone numbers, spaces or dashes between the digits allowed:
# +62 then 8-12 digits; 62 8... (11 digits at least, so a 10-digit update id is not one);
# 08... with 9-13 digits in all.
_PHONE = re.compile(
    r"(?<![\d+])(?<!\d\.)"
    r"(?:\+62[ -]?[1-9](?:[ -]?\d){7,11}"
    r"|62[ -]?8(?:[ -]?\d){8,11}"
    r"|08(?:[ -]?\d){7,11})"
    r"(?!\d)"
)


def _plausible_nip(digits: str) -> bool:
    """A NIP starts with a birth date, YYYYMMDD."""
    return (
        digits[:2] in ("19", "20") and "01" <= digits[4:6] <= "12" and "01" <= digits[6:8] <= "31"
    )


def _mask_nip(match: re.Match[str]) -> str:
    written = match.group(1)
    digits = _NIP_SEPARATOR.sub("", written)
    if written != digits:
        # Written in groups: only when no group is longer than 8 digits and it starts with a
        # date, so two update ids or a list of sizes side by side are left alone.
        groups = _NIP_SEPARATOR.split(written)
        if max(len(group) for group in groups) > 8 or not _plausible_nip(digits):
            return match.group(0)
    return f"NIP \u2026{digits[-4:]}"


def _mask_phone(match: re.Match[str]) -> str:
    return f"\u2026{re.sub(r'[^0-9]', '', match.group(0))[-4:]}"


def redact_secrets(text: str) -> str:
    """Hide what must never reach a log: link paths and keys, Bot API tokens, URL passwords,
    NIPs (last 4 digits kept) and Indonesian phone numbers (last 4 digits kept)."""
    text = _TOKEN.sub("<token>", text)
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    text = redact_link_paths(text)
    text = _ENCODED_LINK_PATH.sub(r"%2F\1%2F***", text)
    text = _NIP.sub(_mask_nip, text)
    return _PHONE.sub(_mask_phone, text)


_PLAIN = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Defence in depth on the handler: format each message, redact it and keep the result
    (args cleared); format the traceback and stack too and redact them. Never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A bad logging call: say so rather than letting logging print its arguments.
            message = f"{record.msg} [log arguments could not be formatted]"
        record.msg = redact_secrets(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return True


class AddContext(logging.Filter):
    """Attach the context fields in force where the record was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.setdefault("log_context", dict(_CONTEXT.get()))
        return True


def _context_of(record: logging.LogRecord) -> Mapping[str, ContextValue]:
    context = record.__dict__.get("log_context")
    if not isinstance(context, Mapping):
        context = _CONTEXT.get()
    return {key: context[key] for key in CONTEXT_KEYS if key in context}


# ---- formats -------------------------------------------------------------------------------


class TextFormatter(logging.Formatter):
    """The readable line, context fields appended: `... message [update=123 ticket=...]`."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        context = _context_of(record)
        if not context:
            return line
        fields = " ".join(f"{_TEXT_LABELS.get(k, k)}={v}" for k, v in context.items())
        return f"{line} [{redact_secrets(fields)}]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, context fields, exc, stack."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _context_of(record).items():
            shown = redact_secrets(str(value))
            entry[key] = value if shown == str(value) else shown
        if record.exc_info or record.exc_text:
            exc = record.exc_text
            if not exc and record.exc_info:
                exc = redact_secrets(self.formatException(record.exc_info))
            entry["exc"] = exc
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    level: str, stream: TextIO | None = None, fmt: str = "text"
) -> logging.Handler:
    """Send every record to `stream` (stderr by default) as "text" or "json"; returns the
    handler it added to the root logger (remove it to undo)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use text or json")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(AddContext())
    # Defence in depth: whatever a line holds, no link, key, token, NIP or phone number.
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
