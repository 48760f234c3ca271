"""Checks on what a requester types: NIP, e-mail, phone, names; and NIP masking for display."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email


class InputProblem(StrEnum):
    """What is wrong with an input: a code, never a sentence (`texts.invalid_input` words it)."""

    # What a requester types (the details each needs in brackets)
    NIP_NOT_DIGITS = "nip_not_digits"
    NIP_LENGTH = "nip_length"  # length: how many digits were sent
    NIP_BIRTH_DATE = "nip_birth_date"
    NIP_APPOINTMENT_MONTH = "nip_appointment_month"
    EMAIL_INVALID = "email_invalid"
    PHONE_INVALID = "phone_invalid"
    INVISIBLE_CHARS = "invisible_chars"  # field: the field's name as the person knows it
    TOO_SHORT = "too_short"  # field
    TOO_LONG = "too_long"  # field, max_len
    # Uploaded documents
    FILE_EMPTY = "file_empty"
    FILE_TOO_BIG = "file_too_big"  # max_mb
    FILE_TYPE = "file_type"  # mime: the type the bytes really have, or None when unknown
    PDF_NOT_WHOLE = "pdf_not_whole"
    IMAGE_UNREADABLE = "image_unreadable"
    IMAGE_TOO_LARGE = "image_too_large"
    TOO_MANY_PAGES = "too_many_pages"  # max_pages
    # The admins' /cari
    SEARCH_NIP_TOO_LONG = "search_nip_too_long"
    SEARCH_NIP_TOO_SHORT = "search_nip_too_short"
    SEARCH_NAME_TOO_SHORT = "search_name_too_short"


Detail = str | int | None


class InvalidInput(ValueError):
    """The input is wrong: `problem` says how, `details` hold what its sentence names."""

    def __init__(self, problem: InputProblem, **details: Detail) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.details: dict[str, Detail] = details


def _ascii_digits(text: str) -> str:
    """Decimal digits of any script (Arabic-Indic, full-width, ...) as ASCII; others kept."""
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch
        for ch in text
    )


def normalize_nip(raw: str, today: date | None = None) -> str:
    """Return the 18-digit NIP in ASCII digits, or raise InvalidInput saying what is wrong.

    A NIP (Nomor Induk Pegawai) is birth date YYYYMMDD, appointment YYYYMM, sex 1/2, serial 3.
    Digits typed in another script are stored as ASCII, so searches and the registry match.
    """
    digits = _ascii_digits(re.sub(r"[\s.\-]", "", raw))
    if digits and not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(InputProblem.NIP_NOT_DIGITS)
    if len(digits) != 18:
        raise InvalidInput(InputProblem.NIP_LENGTH, length=len(digits))
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidInput(InputProblem.NIP_BIRTH_DATE) from None
    today = today or date.today()
    if not 1940 <= born.year <= today.year - 17:
        raise InvalidInput(InputProblem.NIP_BIRTH_DATE)
    if not 1 <= int(digits[12:14]) <= 12:
        raise InvalidInput(InputProblem.NIP_APPOINTMENT_MONTH)
    return digits


def format_nip(nip: str) -> str:
    """The usual written grouping: 8 6 1 3."""
    if len(nip) != 18:
        return nip
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"


def normalize_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(InputProblem.EMAIL_INVALID) from None
    return result.normalized


def normalize_phone(raw: str) -> str:
    """Phone numbers as +62..., whatever way they were written."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    if not 9 <= len(digits) <= 15:
        raise InvalidInput(InputProblem.PHONE_INVALID)
    return "+" + digits


# Control, format (U+200B zero width space, U+202E right-to-left override, U+FEFF), private
# use, surrogate and line/paragraph separator characters: invisible or misleading when shown,
# and never part of a name, a user ID or a password. (Tabs, newlines and the separators are
# whitespace: clean_text makes them a space first.)
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})


def has_hidden(text: str) -> bool:
    """Whether the text holds a character of HIDDEN_CATEGORIES."""
    return any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in text)


def clean_text(raw: str, *, field: str, min_len: int = 2, max_len: int = 200) -> str:
    """The text with its whitespace runs made one ordinary space; InvalidInput when it is too
    short or long, or holds an invisible or control character."""
    text = " ".join(raw.split())
    if has_hidden(text):
        raise InvalidInput(InputProblem.INVISIBLE_CHARS, field=field)
    if len(text) < min_len:
        raise InvalidInput(InputProblem.TOO_SHORT, field=field)
    if len(text) > max_len:
        raise InvalidInput(InputProblem.TOO_LONG, field=field, max_len=max_len)
    return text


@dataclass(frozen=True)
class Identity:
    """What a requester tells about themselves; the requester row holds it."""

    name: str
    nip: str
    role: str
    work_unit: str
    email: str
    spse_user_id: str | None = None
    phone: str | None = None
    phone_verified: bool = False
