"""Sealing data at rest that may hold a password, a NIP or a phone number.

The inbox keeps each update, and the outbox each reply, only until handled or sent; while
they wait they are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from a
deployment secret, so a database dump or backup never shows them in plain text.

The secret is SEAL_SECRET, or else a random one kept in a file beside the documents (made
once, readable by the bot's user only). It never comes from a platform's token: rotating a
bot token must not make the waiting rows unreadable. A sealer may hold earlier keys that it
only opens with (rows sealed before a rotation, or before this scheme).
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
SEAL_FILE = ".seal-secret"
MIN_SECRET = 16
# A row that does not open may have been sealed by a worker with the new key during a
# rolling upgrade, or wait for the operator to restore SEAL_SECRET: it is retried this long
# (another worker may open it) before it is given up, so it never blocks its chat for ever.
KEY_PATIENCE = timedelta(minutes=15)

log = logging.getLogger(__name__)


class Unreadable(Exception):
    """Sealed under another key (the secret was rotated) or tampered with."""


class WaitForKey(Exception):
    """A recent row does not open here: retry it later (not counted as a failure)."""


def patient(error: Unreadable, sealed_at: datetime, now: datetime) -> Exception:
    """What an unreadable row's handler raises: wait while it is recent, else the error."""
    if now - sealed_at < KEY_PATIENCE:
        return WaitForKey("sealed under a key this process does not hold")
    return error


def derive_key(secret: str, purpose: str) -> bytes:
    """One key per purpose, so the same secret never encrypts two kinds of data."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"chatbot-sealing-v1", info=purpose.encode()
    ).derive(secret.encode())


def stored_secret(folder: Path) -> str:
    """The deployment's own sealing secret, made on first use in `folder` (mode 0600).

    For one host; several hosts sharing a database must share SEAL_SECRET instead, or a
    worker could not open what another sealed. Made whole before it appears (written to a
    temporary file, then linked into place), so two processes starting together agree on
    one secret and a crash never leaves an empty one."""
    path = folder / SEAL_FILE
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < MIN_SECRET:
        raise RuntimeError(
            f"{path} holds no usable sealing secret: set SEAL_SECRET, or delete the file "
            "(the updates and replies waiting now will not open)"
        )
    return secret


def existing_secret(folder: Path) -> str | None:
    """The secret `stored_secret` made, if there is one (never made here)."""
    path = folder / SEAL_FILE
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return secret if len(secret) >= MIN_SECRET else None


def _create(path: Path) -> None:
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # atomic, and refused when another process was first
        except FileExistsError:
            return
        log.info("made a sealing secret in %s (set SEAL_SECRET to share one between hosts)", path)
    finally:
        temporary.unlink(missing_ok=True)


class Sealer:
    def __init__(self, key: bytes, *, earlier: tuple[bytes, ...] = ()) -> None:
        self._aead = AESGCM(key)
        self._earlier = tuple(AESGCM(k) for k in earlier)

    @classmethod
    def from_secret(cls, secret: str, purpose: str, *, earlier: tuple[str, ...] = ()) -> Sealer:
        """Seal under `secret`; open also what one of the `earlier` secrets sealed."""
        return cls(
            derive_key(secret, purpose), earlier=tuple(derive_key(e, purpose) for e in earlier)
        )

    def seal(self, plain: bytes, context: str = "") -> bytes:
        """`context` (e.g. the update id) is bound in: a sealed value moved to another row
        does not open."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, context.encode())

    def open(self, sealed: bytes, context: str = "") -> bytes:
        for aead in (self._aead, *self._earlier):
            try:
                return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
            except (InvalidTag, ValueError):
                continue
        raise Unreadable("sealed data does not open with this key")
