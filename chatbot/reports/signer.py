"""Who signs the monthly report, kept apart from the PDF code so that naming a signer does
not load the PDF stack."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signer:
    """The head of section who signs "Mengetahui" (REPORT_SIGNER_*); a blank part is left as
    a dotted line to fill in by hand."""

    title: str = ""
    name: str = ""
    nip: str = ""
