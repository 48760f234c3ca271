"""Logging set-up: readable lines, link paths redacted, chatty libraries kept quiet."""

from __future__ import annotations

import logging
from typing import TextIO

from chatbot.web.security import RedactLinkPaths

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# These log request URLs (Bot API URLs hold the token), SQL parameters (which hold store
# keys) or, in python-telegram-bot's case, every call's parameters (link keys, the admin's
# password message) at INFO/DEBUG: keep them quiet whatever LOG_LEVEL says.
QUIET = ("httpx", "httpcore", "aiosqlite", "sqlalchemy.engine", "asyncpg", "telegram")


def configure_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Send every record to `stream` (stderr by default); returns the handler it added."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    # Defence in depth: whatever logs a one-time link or form URL, its path is hidden.
    handler.addFilter(RedactLinkPaths())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
