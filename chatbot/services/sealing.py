"""Sealing data at rest that may hold a password, a NIP or a phone number.

The inbox keeps each update, and the outbox each reply, only until handled or sent; while
they wait they are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from a
deployment secret, so a database dump or backup never shows them in plain text.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class Unreadable(Exception):
    """Sealed under another key (the secret was rotated) or tampered with."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_secret(cls, secret: str, purpose: str) -> Sealer:
        """One key per purpose, so the same secret never encrypts two kinds of data."""
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"chatbot-sealing-v1", info=purpose.encode()
        ).derive(secret.encode())
        return cls(key)

    def seal(self, plain: bytes, context: str = "") -> bytes:
        """`context` (e.g. the update id) is bound in: a sealed value moved to another row
        does not open."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, context.encode())

    def open(self, sealed: bytes, context: str = "") -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as exc:
            raise Unreadable("sealed data does not open with this key") from exc
