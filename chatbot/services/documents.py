"""Uploaded documents: check the real type by content, enforce the size limit, keep the bytes.

Files are kept content-addressed under STORAGE_DIR/uploads, so a re-sent page is stored
once and a restart never loses what a requester sent before the ticket existed. Photos are
re-encoded without their metadata (EXIF with GPS position, XMP, comments: personal data under
UU 27/2022 the SOP does not need); a PDF must end at its last %%EOF (nothing hidden behind
it) and one that is encrypted is flagged, so the admins know it may ask for a password.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import filetype  # type: ignore[import-untyped]
from PIL import Image, ImageOps, JpegImagePlugin

from chatbot.services.identity import InputProblem, InvalidInput
from chatbot.store import Store

ACCEPTED = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}


@dataclass(frozen=True)
class StoredFile:
    """A file we hold, with the facts the archive needs."""

    path: str
    sha256: str
    mime: str
    size: int
    platform_file_id: str | None = None
    original_name: str | None = None
    encrypted: bool = False  # a PDF with an /Encrypt dictionary: it may ask for a password

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredFile:
        return cls(**data)


def sniff(content: bytes) -> str | None:
    """The MIME type the bytes really have, or None when unknown."""
    kind = filetype.guess(content[:8192])
    return None if kind is None else str(kind.mime)


# A page photo needs far less; a larger one would take hundreds of MB to decode.
MAX_IMAGE_PIXELS = 70_000_000
JPEG_QUALITY = 92
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

# PDF white-space (ISO 32000 7.2.2) may follow the last %%EOF, nothing else.
_WHITE = b"\0\t\n\f\r "
_PDF_END = re.compile(rb"startxref[\0\t\n\f\r ]+(\d{1,12})[\0\t\n\f\r ]*%%EOF\Z")
_NAME_END = rb"(?=[\0\t\n\f\r ()<>\[\]{}/%])"
_ENCRYPT = re.compile(rb"/Encrypt" + _NAME_END)
_XREF_STREAM = re.compile(rb"/Type[\0\t\n\f\r ]*/XRef" + _NAME_END)
_WINDOW = 65536  # far more than a trailer dictionary takes; bounds the work on any file


def check_pdf(content: bytes) -> bool:
    """Refuse a PDF with data after its end; return whether it is encrypted.

    A PDF ends with `startxref <offset> %%EOF` (an incremental update appends a new section
    ending the same way). Anything else at the end, or a ZIP directory inside, is a file
    hidden in the PDF (a PDF+ZIP polyglot): refused.
    """
    end = _PDF_END.search(content.rstrip(_WHITE)[-1024:])
    if end is None or zipfile.is_zipfile(io.BytesIO(content)):
        raise InvalidInput(InputProblem.PDF_NOT_WHOLE)
    return _encrypted(content, int(end.group(1)))


def _encrypted(content: bytes, xref_at: int) -> bool:
    """Whether the last trailer names an /Encrypt dictionary (every update repeats it).

    The trailer is the dictionary before the last `startxref`, or, in a PDF 1.5 file, the
    dictionary of the cross-reference stream at the offset it gives; neither is encrypted.
    """
    last = content.rfind(b"startxref")
    before = content[max(0, last - _WINDOW) : last]
    found = before.rfind(b"trailer")
    if found != -1 and _ENCRYPT.search(before, found):
        return True
    head = content[xref_at : xref_at + _WINDOW]
    stop = head.find(b"stream")
    dictionary = head[: stop if stop != -1 else len(head)]
    return bool(_XREF_STREAM.search(dictionary) and _ENCRYPT.search(dictionary))


def strip_metadata(content: bytes, mime: str) -> bytes:
    """The picture re-encoded without EXIF (GPS), XMP or comments, turned upright first.

    Only what shows the page survives: the pixels, the colour profile and transparency.
    """
    try:
        with Image.open(io.BytesIO(content), formats=[_FORMATS[mime]]) as image:
            pixels = image.width * image.height
            if pixels <= MAX_IMAGE_PIXELS:
                sampling = JpegImagePlugin.get_sampling(image) if mime == "image/jpeg" else -1
                upright = ImageOps.exif_transpose(image)  # a decoded copy, upright
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        pixels = MAX_IMAGE_PIXELS + 1  # Pillow's own limit (the warning, where it is an error)
    except (OSError, SyntaxError, ValueError):  # what Pillow raises on a damaged file
        raise InvalidInput(InputProblem.IMAGE_UNREADABLE) from None
    if pixels > MAX_IMAGE_PIXELS:
        raise InvalidInput(InputProblem.IMAGE_TOO_LARGE)
    kept = {k: upright.info[k] for k in ("icc_profile", "transparency") if k in upright.info}
    upright.info = {}
    options: dict[str, Any] = {}
    if mime == "image/jpeg":
        options = {"quality": JPEG_QUALITY, "subsampling": sampling if sampling >= 0 else 2}
    elif mime == "image/webp":
        options = {"quality": JPEG_QUALITY}
    out = io.BytesIO()
    upright.save(out, format=_FORMATS[mime], **kept, **options)
    return out.getvalue()


class DocumentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def check_size(self, size: int | None) -> None:
        """Refuse a file by its declared size before downloading it."""
        if size is not None and size > self.max_bytes:
            raise InvalidInput(InputProblem.FILE_TOO_BIG, max_mb=self.max_bytes // (1024 * 1024))

    def keep(
        self,
        content: bytes,
        *,
        platform_file_id: str | None = None,
        original_name: str | None = None,
    ) -> StoredFile:
        """Check the bytes and store them; raise InvalidInput saying why otherwise."""
        self.check_size(len(content))
        if not content:
            raise InvalidInput(InputProblem.FILE_EMPTY)
        mime = sniff(content)
        if mime not in ACCEPTED:
            raise InvalidInput(InputProblem.FILE_TYPE, mime=mime)
        encrypted = False
        if mime == "application/pdf":
            encrypted = check_pdf(content)
        else:
            content = strip_metadata(content, mime)
        digest = hashlib.sha256(content).hexdigest()
        relative = Path("uploads") / digest[:2] / f"{digest}.{ACCEPTED[mime]}"
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            Path(handle.name).replace(target)
        else:  # the same bytes again: in use now, so retention must not take them
            os.utime(target)
        return StoredFile(
            path=str(relative),
            sha256=digest,
            mime=mime,
            size=len(content),
            platform_file_id=platform_file_id,
            original_name=original_name,
            encrypted=encrypted,
        )

    def absolute(self, stored_path: str) -> Path:
        """The file of a stored path; a path leading outside STORAGE_DIR is refused."""
        path = (self.root / stored_path).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"stored path outside the storage folder: {stored_path!r}")
        return path


# Uploads of drafts never sent stay on disk this long (retention.ORPHAN_AFTER deletes them).
DRAFT_UPLOAD_WINDOW = timedelta(days=31)


@dataclass(frozen=True)
class UploadQuota:
    """How much one chat may upload into requests it has not sent (UPLOAD_DRAFT_QUOTA_*)."""

    files: int = 40
    bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class UploadUsage:
    files: int
    bytes: int


class DraftUploads:
    """What a chat uploaded that no sent request holds yet, so one chat cannot fill the disk.

    Cancelling or replacing pages does not give room back: those files stay on disk until
    retention deletes them, and so they count until then. Sending a request does.
    """

    def __init__(self, store: Store, quota: UploadQuota) -> None:
        self._store = store
        self.quota = quota

    @staticmethod
    def _key(chat: str) -> str:
        return f"draft-uploads:{chat}"

    async def _entries(self, chat: str) -> dict[str, list[int]]:
        """sha256 -> [size, uploaded at (epoch seconds)], for the window only."""
        raw = await self._store.get(self._key(chat))
        entries: dict[str, list[int]] = json.loads(raw) if raw else {}
        oldest = time.time() - DRAFT_UPLOAD_WINDOW.total_seconds()
        return {sha: entry for sha, entry in entries.items() if entry[1] >= oldest}

    async def _save(self, chat: str, entries: dict[str, list[int]]) -> None:
        if entries:
            value = json.dumps(entries, separators=(",", ":")).encode()
            await self._store.set(self._key(chat), value, DRAFT_UPLOAD_WINDOW)
        else:
            await self._store.delete(self._key(chat))

    async def usage(self, chat: str) -> UploadUsage:
        entries = await self._entries(chat)
        return UploadUsage(len(entries), sum(size for size, _ in entries.values()))

    async def allows(self, chat: str, size: int | None) -> bool:
        """Whether one more file of (about) `size` bytes fits the chat's quota."""
        used = await self.usage(chat)
        return used.files < self.quota.files and used.bytes + (size or 0) <= self.quota.bytes

    async def add(self, chat: str, stored: StoredFile) -> None:
        """Count a stored file (the same bytes again count once)."""
        entries = await self._entries(chat)
        entries.setdefault(stored.sha256, [stored.size, int(time.time())])
        await self._save(chat, entries)

    async def release(self, chat: str, sent: list[StoredFile]) -> None:
        """A request was sent with these files: a ticket holds them now."""
        entries = await self._entries(chat)
        for stored in sent:
            entries.pop(stored.sha256, None)
        await self._save(chat, entries)
