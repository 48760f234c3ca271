"""Passwords an admin sets in SPSE: a strong generator and the checks a typed one must pass.

SPSE asks for at least 8 characters mixing letters and digits; we generate 14 characters with
upper and lower case letters, digits and a symbol, leaving out look-alikes (0/O, 1/l/I) and
characters that break when pasted or read aloud. The page's "Buat password" button runs the
same rules in the browser (static/form.js); this module is the server's check and the
generator for the console channel and the tests.
"""

from __future__ import annotations

import secrets

from chatbot.services.identity import has_hidden

UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abcdefghijkmnpqrstuvwxyz"
DIGITS = "23456789"
SYMBOLS = "!@#$%*-_+=?"
MIN_LENGTH = 8
MAX_LENGTH = 64
GENERATED_LENGTH = 14


def generate(length: int = GENERATED_LENGTH) -> str:
    """A random password with at least one character of each class."""
    if length < 4:
        raise ValueError("length must allow one character of each class")
    classes = (UPPER, LOWER, DIGITS, SYMBOLS)
    alphabet = "".join(classes)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(ch in group for ch in candidate) for group in classes):
            return candidate


def problem(password: str) -> str | None:
    """Why SPSE would refuse this password (Indonesian), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password minimal {MIN_LENGTH} karakter."
    if len(password) > MAX_LENGTH:
        return f"Password maksimal {MAX_LENGTH} karakter."
    if has_hidden(password):
        return "Password mengandung karakter tak terlihat atau karakter kontrol."
    if any(ch.isspace() for ch in password):
        return "Password tidak boleh mengandung spasi."
    if not any(ch.isalpha() for ch in password) or not any(ch.isdigit() for ch in password):
        return "Password harus memuat huruf dan angka."
    return None
