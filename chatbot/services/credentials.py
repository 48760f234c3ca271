"""One-time links for the result (SOP step 8): the server never holds the secret in plain text.

A fresh 256-bit key per secret encrypts it with AES-256-GCM (the ticket number is the
associated data). The store keeps only the ciphertext, under a 128-bit random id, with a TTL;
the key travels only in the link's #fragment, which browsers never send to a server. A
reveal proves knowledge of the key (its hash) and takes the ciphertext with one atomic
get-and-delete, so of any number of concurrent reveals exactly one succeeds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatbot.db.models import utcnow
from chatbot.services.office_hours import OfficeCalendar
from chatbot.store import Store

KEY_HASH_BYTES = 16
_HEX = re.compile(rf"[0-9a-fA-F]{{{KEY_HASH_BYTES * 2}}}")

# However long the office is closed, a link lives at most this long (a long weekend, not the
# whole Lebaran leave).
LINK_MAX_LIFETIME = timedelta(days=4)
# The store keeps a ciphertext a little past the link's expiry: the database decides when a
# link expired, so a store entry gone before it would look lost rather than expired.
STORE_GRACE = timedelta(minutes=5)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_hash(key: bytes) -> str:
    """What the page sends to prove it holds the key, without sending the key."""
    return hashlib.sha256(key).digest()[:KEY_HASH_BYTES].hex()


def link_hash(link_id: str) -> str:
    """How the database refers to a link without holding the id that opens it."""
    return hashlib.sha256(link_id.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    url: str
    link_id: str
    link_hash: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkLifetime:
    """How long a link lives: at least `ttl`; when that would end outside office hours, until
    `until` on the next office day (so a hand-over at 15.30 is not dead by the evening), but
    never longer than `at_most`. `until` None: exactly `ttl`."""

    ttl: timedelta
    calendar: OfficeCalendar | None = None
    until: time | None = None
    at_most: timedelta = LINK_MAX_LIFETIME

    def expires(self, start: datetime) -> datetime:
        end = start + self.ttl
        if self.calendar is None or self.until is None or self.calendar.is_open(end):
            return end
        zone = self.calendar.zone
        day = end.astimezone(zone).date()
        limit = start + max(self.ttl, self.at_most)
        while True:
            if self.calendar.hours_on(day) is not None:
                candidate = datetime.combine(day, self.until, zone)
                if candidate > end:
                    return min(candidate, limit)
            if datetime.combine(day, time(0), zone) > limit:
                return limit
            day += timedelta(days=1)


@dataclass(frozen=True)
class Sealed:
    """What a successful reveal hands the browser: it decrypts with the key it holds."""

    ciphertext: str
    iv: str
    aad: str


class RevealRefused(Exception):
    """Why a reveal was refused: `reason` is one of gone, lost, bad_key.

    gone: a reveal or a revoke took the ciphertext; lost: the store no longer has it though
    nobody took it (Redis restarted without keeping its data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def seal(secret: dict[str, str], key: bytes, aad: str) -> tuple[bytes, bytes]:
    iv = os.urandom(12)
    plaintext = json.dumps(secret, ensure_ascii=False).encode()
    return iv, AESGCM(key).encrypt(iv, plaintext, aad.encode())


def open_sealed(sealed: Sealed, key: bytes) -> dict[str, str]:
    """Decrypt as the browser does; used by tests and the console channel."""
    plaintext = AESGCM(key).decrypt(
        unb64url(sealed.iv), unb64url(sealed.ciphertext), sealed.aad.encode()
    )
    result: dict[str, str] = json.loads(plaintext)
    return result


class CredentialVault:
    """The store's side of the links: `cred:<hash>` holds the sealed secret; `taken:<hash>`
    is written before a reveal or a revoke takes it, so an empty `cred:` entry tells a
    ciphertext taken on purpose from one the store lost."""

    def __init__(
        self,
        store: Store,
        public_url: str,
        ttl: timedelta,
        lifetime: LinkLifetime | None = None,
    ) -> None:
        self._store = store
        self._public_url = public_url.rstrip("/")
        self._lifetime = lifetime or LinkLifetime(ttl)

    async def issue(self, *, ticket_number: str, secret: dict[str, str]) -> IssuedLink:
        """Seal the secret and return the link; the plain secret is not kept anywhere."""
        key = AESGCM.generate_key(bit_length=256)
        link_id = b64url(secrets.token_bytes(16))
        iv, ciphertext = seal(secret, key, ticket_number)
        now = utcnow()
        expires_at = self._lifetime.expires(now)
        record = {
            "ct": b64url(ciphertext),
            "iv": b64url(iv),
            "aad": ticket_number,
            "kh": key_hash(key),
            "exp": expires_at.isoformat(),
        }
        ttl = expires_at - now + STORE_GRACE
        await self._store.set(self._key(link_id), json.dumps(record).encode(), ttl=ttl)
        return IssuedLink(
            url=f"{self._public_url}/s/{link_id}#{b64url(key)}",
            link_id=link_id,
            link_hash=link_hash(link_id),
            expires_at=expires_at,
        )

    async def revoke(self, link_id: str) -> None:
        """Delete a link's ciphertext (its hand-over failed); marked taken, not lost."""
        await self._mark_taken(link_hash(link_id), await self._store.get(self._key(link_id)))
        await self._store.delete(self._key(link_id))

    async def withdraw(self, hashed: str) -> bool:
        """Take a link's ciphertext away (an admin's "Batalkan link"), by the link's hash.

        Atomic like a reveal: True when this call removed it, False when a reveal (or the
        expiry) came first, so a link is never both revoked and revealed.
        """
        raw = await self._store.get(f"cred:{hashed}")
        await self._mark_taken(hashed, raw)
        return await self._store.get_and_delete(f"cred:{hashed}") is not None

    async def reveal(self, link_id: str, presented_key_hash: str) -> Sealed:
        """Hand out the ciphertext once, to a caller that holds the key."""
        if not _HEX.fullmatch(presented_key_hash):
            raise RevealRefused("bad_key")
        hashed = link_hash(link_id)
        raw = await self._store.get(self._key(link_id))
        if raw is None:
            raise RevealRefused("lost" if await self.lost(hashed) else "gone")
        if not hmac.compare_digest(json.loads(raw)["kh"], presented_key_hash.lower()):
            raise RevealRefused("bad_key")
        await self._mark_taken(hashed, raw)
        taken = await self._store.get_and_delete(self._key(link_id))
        if taken is None:
            raise RevealRefused("gone")
        record = json.loads(taken)
        return Sealed(ciphertext=record["ct"], iv=record["iv"], aad=record["aad"])

    async def lost(self, hashed: str) -> bool:
        """The store has neither the ciphertext nor a mark that a reveal or revoke took it.

        Only meaningful for a link the database holds as sent and unexpired: then the store
        lost it (a Redis restart without persistence, or a flush).
        """
        if await self._store.get(f"cred:{hashed}") is not None:
            return False
        return await self._store.get(f"taken:{hashed}") is None

    async def _mark_taken(self, hashed: str, raw: bytes | None) -> None:
        """Written before the ciphertext goes, for as long as the link could be asked for."""
        expires = self._lifetime.at_most
        if raw is not None:
            with contextlib.suppress(KeyError, ValueError):
                expires = datetime.fromisoformat(json.loads(raw)["exp"]) - utcnow()
        ttl = max(expires, timedelta(0)) + STORE_GRACE
        await self._store.set(f"taken:{hashed}", b"1", ttl=ttl)

    @staticmethod
    def _key(link_id: str) -> str:
        # Keyed by the hash, so whoever reads the store cannot rebuild the link path.
        return f"cred:{link_hash(link_id)}"
