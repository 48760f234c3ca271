"""Single-use web forms for the admin's hand-over of a result (SOP step 6 to 8).

"Kirim hasil" gives the admin, in private, a link to a form bound to that admin and that
ticket, so the password never has to pass through chat history. The token is 128 random
bits; the store keeps the grant under the token's hash with a short TTL, so whoever reads the
store cannot rebuild the link. Opening the form (GET) never uses it up; a successful
submission takes it with an atomic get-and-delete, so two submissions cannot both deliver.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from chatbot.db.models import utcnow
from chatbot.services.credentials import b64url
from chatbot.store import Store

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class FormGrant:
    ticket_id: int
    version: int
    number: str
    need: list[str]  # "user_id" and/or "password"
    admin_id: str  # the Actor id, e.g. "telegram:9001"
    admin_user_id: str  # the platform user id the Web App init data must carry
    admin_name: str
    channel: str
    chat_id: str  # the admin's private chat
    expires_at: str  # ISO time, for the page


@dataclass(frozen=True)
class IssuedForm:
    token: str
    url: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AdminForms:
    def __init__(self, store: Store, public_url: str, ttl: timedelta) -> None:
        self._store = store
        self._public_url = public_url.rstrip("/")
        self._ttl = ttl

    async def issue(self, **grant: object) -> IssuedForm:
        token = b64url(secrets.token_bytes(16))
        expires_at = utcnow() + self._ttl
        record = FormGrant(expires_at=expires_at.isoformat(), **grant)  # type: ignore[arg-type]
        await self._store.set(self._key(token_hash(token)), _dump(record), ttl=self._ttl)
        return IssuedForm(token=token, url=f"{self._public_url}/f/{token}", expires_at=expires_at)

    async def peek(self, token: str) -> FormGrant | None:
        if not TOKEN.fullmatch(token):
            return None
        raw = await self._store.get(self._key(token_hash(token)))
        return _load(raw) if raw else None

    async def peek_hash(self, hashed: str) -> FormGrant | None:
        """The grant behind a token's hash (what the chat dialog keeps), while it exists."""
        raw = await self._store.get(self._key(hashed))
        return _load(raw) if raw else None

    async def take(self, token: str) -> FormGrant | None:
        """Use the form up; of concurrent submissions exactly one gets the grant."""
        if not TOKEN.fullmatch(token):
            return None
        raw = await self._store.get_and_delete(self._key(token_hash(token)))
        return _load(raw) if raw else None

    async def give_back(self, token: str, grant: FormGrant) -> None:
        """A submission that failed for a passing reason: the admin may try again."""
        left = datetime.fromisoformat(grant.expires_at) - utcnow()
        if left > timedelta(seconds=1):
            await self._store.set(self._key(token_hash(token)), _dump(grant), ttl=left)

    async def discard(self, hashed: str) -> None:
        """The admin handed the result over in chat instead: the form is void."""
        await self._store.delete(self._key(hashed))

    @staticmethod
    def _key(hashed: str) -> str:
        return f"form:{hashed}"


def _dump(grant: FormGrant) -> bytes:
    return json.dumps(asdict(grant)).encode()


def _load(raw: bytes) -> FormGrant:
    return FormGrant(**json.loads(raw))
