"""Reading a platform's webhook body safely: no more than a limit, no JSON nested without
end. Shared by the Telegram and the WhatsApp webhooks."""

from __future__ import annotations

import json

from starlette.requests import Request


class NotJson(ValueError):
    """A body that is not JSON a webhook may read; the message says why."""


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            return None
    return bytes(chunks)


def too_deep(data: object, limit: int) -> bool:
    """Whether JSON data nests deeper than `limit` (walked without recursion)."""
    level: list[object] = [data]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def json_within(body: bytes, depth: int) -> object:
    """The body as JSON data, refused (NotJson) when it is not JSON or nests deeper than
    `depth` (deeper than the parser itself can go, too)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotJson("not JSON") from None
    except RecursionError:  # nested deeper than the parser can go
        raise NotJson("nested too deeply") from None
    if too_deep(data, depth):
        raise NotJson("nested too deeply")
    return data
