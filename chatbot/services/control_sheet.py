"""The archive's *lembar kendali* (control sheet): one ticket on A4, as a PDF.

It shows what the SOP asks to be accountable for: the ticket and whom it was for, every step
with its actor, times in the office's zone, office minutes against the time standard and the
outcome, the decisions with their reasons, why late steps were late, the SHA-256 of every
document, and a summary of the audit trail.

Fonts: DejaVu Sans (TrueType) when it is installed (Debian: `fonts-dejavu-core`), so names in
any script print as written; a character the font lacks becomes "?". Without DejaVu, the
PDF's built-in Helvetica is used and text is folded to Latin-1 first (accents kept where
Latin-1 has them: "é" stays, "ā" becomes "a", anything else "?"), because fpdf2's core fonts
refuse other characters.

The sheet is read from the database here (`sheet_for`), worded in `control_sheet_content.py`
and drawn in `control_sheet_pdf.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.db.models import AuditEvent, Document, StepRecord, Ticket
from chatbot.services.control_sheet_content import (
    ACTIONS,
    ARCHIVE_NOTE,
    STEP_OUTCOMES,
    UNKNOWN_ACTION,
    ControlSheet,
    SheetDocument,
    SheetEvent,
    SheetStep,
)
from chatbot.services.enums import DocumentKind, MissingItem, Outcome, RequestType, Role, Step
from chatbot.services.identity import format_nip
from chatbot.services.pdf_fonts import Fonts, find_fonts
from chatbot.services.people import Names, names_of
from chatbot.services.vocabulary import (
    DOCUMENT_KINDS,
    MISSING_IN_SENTENCE,
    OUTCOMES,
    REQUEST_TYPES,
    ROLES,
)

__all__ = ["ACTIONS", "ARCHIVE_NOTE", "FILE_NAME", "ControlSheet", "render", "sheet_for"]

FILE_NAME = "lembar-kendali.pdf"


def _outcome(code: str | None) -> str:
    return STEP_OUTCOMES.get(code or "", (code or "").replace("_", " "))


PHONE_NOTE = re.compile(r"(dikonfirmasi lewat telepon oleh )([^;]+)")


def _missing(code: str) -> str:
    """A missing item in a sentence; an unknown code as it is."""
    try:
        return MISSING_IN_SENTENCE[MissingItem(code)]
    except ValueError:
        return code


def _note(record: StepRecord, names: Names) -> str:
    """The step's note in words: the codes the service writes into some notes are named, and
    the admin a phone confirmation note names is shown by their one name."""
    note = PHONE_NOTE.sub(lambda m: m.group(1) + (names.named(m.group(2)) or ""), record.note or "")
    if record.step in (Step.CHECK_COMPLETENESS, Step.SUPPLEMENT) and record.outcome in (
        "tidak_lengkap",
        "dilengkapi",
    ):
        return re.sub(r"\b(letter|sk|identity)\b", lambda m: _missing(m.group(1)), note)
    for code in ("link_kedaluwarsa", "link_dibatalkan", "link_hilang"):
        note = note.replace(code, STEP_OUTCOMES[code])
    return note


def _step(record: StepRecord, names: Names) -> SheetStep:
    return SheetStep(
        step=int(record.step),
        actor=names.of(record.actor_id, record.actor_name) or "-",
        started_at=record.started_at,
        finished_at=record.finished_at,
        office_seconds=record.office_seconds,
        standard_minutes=record.standard_minutes,
        late=record.late,
        outcome=_outcome(record.outcome),
        note=_note(record, names),
        late_reason=record.late_reason,
        late_reason_by=names.named(record.late_reason_by),
    )


def _document(doc: Document, files: dict[int, str]) -> SheetDocument:
    return SheetDocument(
        file=files.get(doc.id, "-"),
        kind=DOCUMENT_KINDS.get(DocumentKind(doc.kind), str(doc.kind)),
        round=doc.round,
        page=doc.page,
        size=doc.size,
        sha256=doc.sha256,
    )


def sheet_for(
    ticket: Ticket,
    files: dict[int, str],
    zone: ZoneInfo,
    *,
    archived_at: datetime,
    archive_started_at: datetime,
    archive_standard: int | None,
    events: Sequence[AuditEvent] = (),
) -> ControlSheet:
    """The sheet of `ticket`. Step 9 is recorded only after the archive folder is written, so
    when the ticket has no step-9 record yet, the sheet shows it as done by the system at
    `archived_at` (the same moment manifest.json gives), noting that it was written then."""
    names = names_of(ticket, events)
    steps = [_step(record, names) for record in ticket.steps]
    if not any(s.step == Step.ARCHIVE for s in steps):
        steps.append(
            SheetStep(
                step=int(Step.ARCHIVE),
                actor="Sistem",
                started_at=archive_started_at,
                finished_at=archived_at,
                office_seconds=None,
                standard_minutes=archive_standard,
                late=False,
                outcome="diarsipkan",
                note=ARCHIVE_NOTE,
            )
        )
    return ControlSheet(
        number=str(ticket.number),
        request_type=REQUEST_TYPES.get(RequestType(ticket.request_type), str(ticket.request_type)),
        role=ROLES.get(Role(ticket.role), str(ticket.role)),
        work_unit=ticket.work_unit,
        name=ticket.full_name,
        nip=format_nip(ticket.nip),
        email=ticket.email,
        phone=(ticket.phone or "-") + (" (terverifikasi)" if ticket.phone_verified else ""),
        spse_user_id=ticket.spse_user_id or "-",
        created_at=ticket.created_at,
        closed_at=ticket.closed_at,
        archived_at=archived_at,
        outcome=OUTCOMES.get(Outcome(ticket.outcome), str(ticket.outcome))
        if ticket.outcome
        else "-",
        steps=tuple(steps),
        documents=tuple(_document(doc, files) for doc in ticket.documents),
        rejection_reason=ticket.rejection_reason,
        incomplete_note=ticket.incomplete_note,
        missing=tuple(_missing(m) for m in ticket.missing or ()),
        phone_confirmed_by=names.named(ticket.phone_confirmed_by),
        incidents=ticket.incidents,
        events=tuple(
            SheetEvent(
                at=e.at,
                actor=names.of(e.actor_id, e.actor_name) or "-",
                action=ACTIONS.get(e.action, UNKNOWN_ACTION),
            )
            for e in events
        ),
        zone=zone,
    )


def render(sheet: ControlSheet, fonts: Fonts | None = None) -> bytes:
    """The sheet as PDF bytes (A4 portrait). `fonts`: None means DejaVu if installed. The PDF
    library is imported here, on first use, to keep it out of a worker's start-up."""
    from chatbot.services.control_sheet_pdf import draw

    return draw(sheet, fonts if fonts is not None else find_fonts())
