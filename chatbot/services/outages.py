"""Telling an outage (retry, it will pass) from a bug or a refusal (retrying cannot help)."""

from __future__ import annotations

import socket

from asyncpg.exceptions import (  # type: ignore[import-untyped]
    CannotConnectNowError,
    InsufficientResourcesError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# Raised when the database, the store or the network is away for a while. A PostgreSQL
# restart shows as "shutting down" / "starting up" (operator intervention, SQLSTATE 57P0x),
# "too many clients" (53300) or a lost connection (08xxx), wrapped by SQLAlchemy in a plain
# DBAPIError: the cause chain is searched.
_OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    PostgresConnectionError,
    CannotConnectNowError,
    OperatorInterventionError,
    InsufficientResourcesError,
    ConnectionError,  # refused, reset: not OSError at large, a missing file is no outage
    TimeoutError,
    socket.gaierror,
)
_MAX_DEPTH = 8


def is_outage(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(_MAX_DEPTH):
        if seen is None:
            return False
        if isinstance(seen, _OUTAGES):
            return True
        if isinstance(seen, DBAPIError) and (
            seen.connection_invalidated or isinstance(seen.orig, _OUTAGES)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
