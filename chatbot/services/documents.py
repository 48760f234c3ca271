"""Uploaded documents: check the real type by content, enforce the size limit, keep the bytes.

Files are kept content-addressed under STORAGE_DIR/uploads, so a re-sent page is stored
once and a restart never loses what a requester sent before the ticket existed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import filetype  # type: ignore[import-untyped]

from chatbot.services.identity import InvalidInput

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredFile:
        return cls(**data)


def sniff(content: bytes) -> str | None:
    """The MIME type the bytes really have, or None when unknown."""
    kind = filetype.guess(content[:8192])
    return None if kind is None else str(kind.mime)


def too_big_message(limit_bytes: int) -> str:
    return f"File terlalu besar. Batasnya {limit_bytes // (1024 * 1024)} MB per file."


class DocumentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def check_size(self, size: int | None) -> None:
        """Refuse a file by its declared size before downloading it."""
        if size is not None and size > self.max_bytes:
            raise InvalidInput(too_big_message(self.max_bytes))

    def keep(
        self,
        content: bytes,
        *,
        platform_file_id: str | None = None,
        original_name: str | None = None,
    ) -> StoredFile:
        """Check the bytes and store them; raise InvalidInput with the reason otherwise."""
        self.check_size(len(content))
        if not content:
            raise InvalidInput("File kosong. Silakan kirim ulang.")
        mime = sniff(content)
        if mime not in ACCEPTED:
            what = f" (isinya {mime})" if mime else ""
            raise InvalidInput(
                f"Jenis file tidak diterima{what}. Kirim PDF, atau foto/gambar JPG/PNG."
            )
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
        )

    def absolute(self, stored_path: str) -> Path:
        """The file of a stored path; a path leading outside STORAGE_DIR is refused."""
        path = (self.root / stored_path).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"stored path outside the storage folder: {stored_path!r}")
        return path
