"""The admin group's message for a ticket: its summary, history and the buttons for its step.

The message is edited in place as the ticket moves, so the group always shows its state.
A card can be in a picking view (what is missing, why invalid); that view lives in the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from chatbot.conversations import texts as t
from chatbot.conversations.messages import Button, Reply
from chatbot.conversations.payloads import AdminAction, AdminPayload
from chatbot.db.models import CredentialLink, Ticket, utcnow
from chatbot.services.enums import DocumentKind, MissingItem, Step, TicketState
from chatbot.services.identity import format_nip
from chatbot.services.people import SYSTEM_ID, Names, names_of
from chatbot.services.reply_window import WINDOWS, window_closing, window_open_until
from chatbot.services.sla import whole_minutes
from chatbot.store import Store

VIEW_TTL = timedelta(days=2)
HISTORY_LINES = 12

# Outcomes that are the requester's own doing, whoever the step record names (step 8 keeps
# the admin who sent the link; a cancelled step keeps whoever held it).
BY_REQUESTER = {"diajukan", "dilengkapi", "diterima_pemohon", "dibatalkan_pemohon"}
# Outcomes the system brings about by itself (sweeps, the archive).
BY_SYSTEM = {"kedaluwarsa", "link_kedaluwarsa", "link_hilang", "diarsipkan"}


@dataclass
class CardView:
    """A transient picking view of a card, shared by the admins of the group."""

    mode: str = ""  # "" | missing | reasons | revoke
    missing: list[str] = field(default_factory=list)
    note: str | None = None


class CardViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, ticket_id: int) -> CardView:
        raw = await self._store.get(f"card:{ticket_id}")
        return CardView(**json.loads(raw)) if raw else CardView()

    async def put(self, ticket_id: int, view: CardView) -> None:
        await self._store.set(f"card:{ticket_id}", json.dumps(asdict(view)).encode(), VIEW_TTL)

    async def clear(self, ticket_id: int) -> None:
        await self._store.delete(f"card:{ticket_id}")


def _button(label: str, action: AdminAction, ticket: Ticket, arg: str = "") -> Button:
    return Button(label, AdminPayload(action, ticket.id, ticket.version, arg).encode())


def _history(ticket: Ticket, zone: ZoneInfo, day: date, names: Names) -> list[str]:
    lines = []
    for record in ticket.steps:
        if record.finished_at is None:
            continue
        what = t.history_what(int(record.step), record.outcome)
        name: str | None
        if record.outcome in BY_REQUESTER:
            name = names.requester_name
        elif record.outcome in BY_SYSTEM:
            name = names.of(SYSTEM_ID, None)
        else:
            name = names.of(record.actor_id, record.actor_name)
        who = f" — {t.e(name)}" if name else ""
        late = ""
        if record.late and record.standard_minutes is not None:
            reason = record.late_reason or ""
            short = reason if len(reason) <= 80 else reason[:79] + "…"  # the card's 4096 chars
            used = whole_minutes(record.office_seconds or 0)
            late = t.late_mark(used, record.standard_minutes, short or None)
        lines.append(f"• {t.short_clock(record.finished_at, zone, day)} {what}{who}{late}")
    return lines


def _deadline_line(ticket: Ticket, zone: ZoneInfo) -> str | None:
    """The open step's deadline on the office clock, flagged once it has passed."""
    record = ticket.open_step
    if record is None or record.due_at is None or not ticket.state.is_open:
        return None
    due = t.clock(record.due_at, zone)
    if record.escalated_at is not None:
        return f"🔺 Lewat standar, sudah dieskalasi (batas {due})"
    if record.reminded_at is not None:
        return f"⏰ Lewat standar {record.standard_minutes} menit (batas {due})"
    return f"⏳ Batas langkah {record.step}: {due}"


def render(ticket: Ticket, zone: ZoneInfo, view: CardView | None = None) -> Reply:
    """The card's text and buttons for the ticket's current state and view."""
    view = view or CardView()
    names = names_of(ticket)
    day = ticket.created_at.astimezone(zone).date()
    lines = [
        *_summary_lines(ticket),
        *_status_lines(ticket, zone, names),
        *_window_lines(ticket, zone, day),
        *_link_lines(ticket, zone, day, names),
    ]
    deadline = _deadline_line(ticket, zone)
    if deadline:
        lines.append(deadline)
    lines += _history_block(ticket, zone, day, names)
    lines += _view_lines(ticket, view)
    return Reply("\n".join(lines), buttons=_buttons(ticket, view))


def _summary_lines(ticket: Ticket) -> list[str]:
    """The ticket, whom it is for, and what was sent."""
    pages = dict.fromkeys(DocumentKind, 0)
    for doc in ticket.documents:
        if doc.round == 1:  # a supplement's files are corrections, listed on their own
            pages[doc.kind] += 1
    phone = t.e(ticket.phone or "-")
    phone += " ✅" if ticket.phone_verified else " (belum terverifikasi)"
    return [
        f"🎫 <b>Tiket {t.e(ticket.number)}</b> · {t.e(t.REQUEST_TYPES[ticket.request_type])}",
        f"<b>{t.admin_state(ticket.state, ticket.outcome)}</b>",
        "",
        f"Pemohon: <b>{t.e(ticket.full_name)}</b> ({t.ROLE_SHORT[ticket.role]})"
        + t.via_channel(ticket.requester.channel),
        f"NIP: <code>{format_nip(ticket.nip)}</code>",
        f"Unit kerja: {t.e(ticket.work_unit)}",
        f"User ID SPSE: {t.e(ticket.spse_user_id or '(tidak diisi)')}",
        f"Email: {t.e(ticket.email)}",
        f"HP: {phone}",
        f"Dokumen: surat {pages[DocumentKind.LETTER]} file, SK {pages[DocumentKind.SK]} file"
        + (f" (putaran {ticket.round})" if ticket.round > 1 else ""),
        *_correction_lines(ticket),
    ]


def _status_lines(ticket: Ticket, zone: ZoneInfo, names: Names) -> list[str]:
    """Warnings and decisions so far: locked PDFs, other open tickets of the NIP, an
    unreachable requester, the phone call, what is missing, why rejected, who holds the
    result."""
    lines = []
    locked = [
        f"{t.DOCUMENT_SHORT[doc.kind]} hal. {doc.page}"
        + (f" putaran {doc.round}" if doc.round > 1 else "")
        for doc in ticket.documents
        if doc.encrypted
    ]
    if locked:
        lines.append(t.encrypted_pdfs(locked))
    if ticket.same_nip_open:
        lines.append(t.same_nip_line(ticket.same_nip_open))
    if ticket.requester_unreachable_at is not None:
        since = t.clock(ticket.requester_unreachable_at, zone)
        lines.append(t.held_line(since) if _held(ticket) else t.unreachable_line(since))
    if ticket.phone_confirmed_by:
        confirmed_by = names.named(ticket.phone_confirmed_by)
        lines.append(f"📞 Dikonfirmasi telepon oleh {t.e(confirmed_by)}")
    if ticket.state == TicketState.INCOMPLETE:
        lines.append("Kurang: " + ", ".join(t.MISSING[MissingItem(m)] for m in ticket.missing))
        if ticket.incomplete_note:
            lines.append(f"Catatan: <i>{t.e(ticket.incomplete_note)}</i>")
    if ticket.rejection_reason:
        lines.append(f"Alasan tolak: <i>{t.e(ticket.rejection_reason)}</i>")
    if ticket.state == TicketState.VALID and ticket.result_admin_name:
        holder = names.of(ticket.result_admin_id, ticket.result_admin_name)
        lines.append(f"🔧 Hasil sedang diisi oleh {t.e(holder)}")
    return lines


def _window_lines(ticket: Ticket, zone: ZoneInfo, day: date) -> list[str]:
    """A requester on a channel with a reply window (WhatsApp): the window, the receipt of
    the last message sent them, and whether they said they are ready for the link."""
    window = WINDOWS.get(ticket.requester.channel)
    if window is None or not ticket.state.is_open:
        return []
    until = window_open_until(ticket.requester.last_inbound_at, window)
    shown = t.short_clock(until, zone, day) if until is not None and until > utcnow() else None
    lines = [t.window_line(shown)]
    sent = [row for row in ticket.requester_notices if row.platform_message_id is not None]
    last = sent[-1] if sent else None
    if last is not None and last.receipt and last.receipt_at is not None:
        lines.append(t.receipt_line(last.receipt, t.short_clock(last.receipt_at, zone, day)))
    if ticket.state == TicketState.VALID and ticket.ready_asked_at is not None:
        if ticket.ready_at is not None and not window_closing(
            ticket.requester.last_inbound_at, window
        ):
            lines.append(t.ready_line(t.short_clock(ticket.ready_at, zone, day)))
        elif ticket.ready_at is None:
            lines.append(t.ready_waiting_line(t.short_clock(ticket.ready_asked_at, zone, day)))
    return lines


def _held(ticket: Ticket) -> bool:
    """A notice to the requester waits for their window (no template for it)."""
    return any(
        row.held_at is not None and row.sent_at is None and row.failed_at is None
        for row in ticket.requester_notices
    )


def _history_block(ticket: Ticket, zone: ZoneInfo, day: date, names: Names) -> list[str]:
    """The history under its title, its oldest lines folded into one."""
    history = _history(ticket, zone, day, names)
    if len(history) > HISTORY_LINES:  # keep the card far below Telegram's 4096 characters
        hidden = len(history) - HISTORY_LINES + 1
        history = [f"• {t.history_hidden(hidden)}", *history[-HISTORY_LINES + 1 :]]
    return ["", t.history_title(day), *history] if history else []


def _view_lines(ticket: Ticket, view: CardView) -> list[str]:
    """What the picking view asks of the admins."""
    if view.mode == "missing":
        lines = ["", f"<i>{t.PICK_MISSING}</i>"]
        if view.note:
            lines.append(f"Catatan: <i>{t.e(view.note)}</i>")
        return lines
    if view.mode == "reasons":
        return ["", f"<i>{t.PICK_REASON}</i>"]
    if view.mode == "revoke" and ticket.state == TicketState.DELIVERED:
        return ["", "<i>Batalkan link? Pemohon tidak bisa membukanya lagi.</i>"]
    return []


def _correction_lines(ticket: Ticket) -> list[str]:
    """What supplements sent: the newest corrected files and the newest identity changes
    (old -> new), or that the identity of the current round came back unchanged."""
    if ticket.round < 2:
        return []
    lines = []
    doc_round = max(doc.round for doc in ticket.documents) if ticket.documents else 1
    if doc_round > 1:
        counts = dict.fromkeys(DocumentKind, 0)
        for doc in ticket.documents:
            if doc.round == doc_round:
                counts[doc.kind] += 1
        lines.append(t.correction_line(doc_round, counts))
    if ticket.purged_at is not None:
        return lines
    changed_round = max((int(c.get("round", 0)) for c in ticket.identity_changes), default=0)
    if _identity_resent(ticket) and changed_round < ticket.round:
        lines += t.identity_changes_lines(ticket.round, [])
    if changed_round:
        changes = [
            (
                t.IDENTITY_FIELDS.get(str(c["field"]), str(c["field"])),
                _shown(c["field"], c.get("old")),
                _shown(c["field"], c.get("new")),
            )
            for c in ticket.identity_changes
            if c.get("round") == changed_round
        ]
        lines += t.identity_changes_lines(changed_round, changes)
    return lines


def _identity_resent(ticket: Ticket) -> bool:
    """Whether the latest supplement carried the identity (changed or not)."""
    record = next(
        (r for r in reversed(ticket.steps) if r.step == Step.SUPPLEMENT and r.finished_at), None
    )
    return record is not None and "identity" in (record.note or "")


def _shown(field: object, value: object) -> str:
    """An identity value as the card shows it: NIP grouped, long values cut (4096 chars)."""
    if value is None or value == "":
        return "(tidak diisi)"
    text = format_nip(str(value)) if field == "nip" else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _link_lines(ticket: Ticket, zone: ZoneInfo, day: date, names: Names) -> list[str]:
    """The one-time link as the admins may see it: its state, never the link itself."""
    lines = []
    if ticket.incidents:
        lines.append(f"🚨 Insiden: link dibuka bukan oleh pemohon ({ticket.incidents}x)")
    link = ticket.latest_link
    if link is None:
        return lines
    # Links given up before they were sent (a failed send, a crash) are not counted, unless
    # it is the newest: the admins must see why the ticket waits for a re-issue.
    counted = [x for x in ticket.links if x.sent_at is not None or x is link]
    nth = f" ke-{len(counted)}" if len(counted) > 1 else ""
    lines.append(f"🔗 Link{nth}: {_link_detail(link, zone, day, names)}")
    confirmation = _confirmation_line(ticket, link.state, zone, day)
    if confirmation:
        lines.append(confirmation)
    return lines


def _link_detail(link: CredentialLink, zone: ZoneInfo, day: date, names: Names) -> str:
    """The link's state in a few words."""
    state = link.state
    if state == "revoked" and link.revoked_at is not None:
        return _revoked_detail(link, t.short_clock(link.revoked_at, zone, day), names)
    if state == "opened" and link.opened_at is not None:
        return f"dibuka {t.short_clock(link.opened_at, zone, day)}"
    if state == "lost" and link.lost_at is not None:
        return f"hilang dari penyimpanan {t.short_clock(link.lost_at, zone, day)} tanpa dibuka"
    if state == "expired":
        return f"kedaluwarsa {t.short_clock(link.expires_at, zone, day)} tanpa dibuka"
    if state == "pending":
        return t.LINK_PENDING
    detail = f"terkirim, berlaku s.d. {t.short_clock(link.expires_at, zone, day)}"
    if link.receipt and link.receipt_at is not None:  # the platform's ticks (WhatsApp)
        receipt = t.RECEIPTS.get(link.receipt, t.e(link.receipt))
        detail += f", pesan {receipt} {t.short_clock(link.receipt_at, zone, day)}"
    return detail + (f", halaman dilihat {link.views}x" if link.views else "")


def _revoked_detail(link: CredentialLink, revoked: str, names: Names) -> str:
    if link.sent_at is None:
        # A failed send or a crash before it was recorded: never known to have arrived.
        return f"{t.LINK_NEVER_SENT} {revoked}"
    by = names.named(link.revoked_by)
    who = f" oleh {t.e(by)}" if by else ""
    return f"dibatalkan {revoked}{who}"


def _confirmation_line(ticket: Ticket, state: str, zone: ZoneInfo, day: date) -> str | None:
    """Whether the requester confirmed the login, is awaited, or the ticket closed without."""
    if ticket.confirmed_at is not None:
        return f"✅ Pemohon sudah login ({t.short_clock(ticket.confirmed_at, zone, day)})"
    if ticket.state == TicketState.RECEIVED and ticket.outcome is None:
        reminded = f", diingatkan {ticket.confirm_reminders}x" if ticket.confirm_reminders else ""
        return f"⏳ Menunggu konfirmasi login pemohon{reminded}"
    if state == "opened" and ticket.outcome and ticket.state != TicketState.VALID:
        return "Ditutup tanpa konfirmasi login pemohon"
    return None


Keyboard = tuple[tuple[Button, ...], ...]


def _buttons(ticket: Ticket, view: CardView) -> Keyboard:
    """The buttons of the ticket's step (none once the admins have nothing to decide)."""
    buttons = _STEP_BUTTONS.get(ticket.state)
    return buttons(ticket, view) if buttons else ()


def _completeness_buttons(ticket: Ticket, view: CardView) -> Keyboard:
    """Step 2: Lengkap / Tidak lengkap, or the picking of what is missing."""
    if view.mode != "missing":
        return (
            (
                _button(t.LENGKAP, AdminAction.COMPLETE, ticket),
                _button(t.TIDAK_LENGKAP, AdminAction.INCOMPLETE, ticket),
            ),
        )
    toggles = tuple(
        _button(
            ("☑️ " if item.value in view.missing else "⬜ ") + label,
            AdminAction.TOGGLE,
            ticket,
            item.value,
        )
        for item, label in t.MISSING.items()
    )
    return (
        *((b,) for b in toggles),
        (_button(t.NOTE, AdminAction.NOTE, ticket),),
        (
            _button(t.SEND_INCOMPLETE, AdminAction.SEND_INCOMPLETE, ticket),
            _button(t.BACK, AdminAction.BACK, ticket),
        ),
    )


def _validity_buttons(ticket: Ticket, view: CardView) -> Keyboard:
    """Step 5: Valid / Tidak valid (and the phone call), or the picking of a reason."""
    if view.mode == "reasons":
        return (
            *(
                (_button(reason, AdminAction.REASON, ticket, str(i)),)
                for i, reason in enumerate(t.REJECTION_PRESETS)
            ),
            (_button(t.OTHER_REASON, AdminAction.REASON_OTHER, ticket),),
            (_button(t.BACK, AdminAction.BACK, ticket),),
        )
    rows: list[tuple[Button, ...]] = [
        (
            _button(t.VALID, AdminAction.VALID, ticket),
            _button(t.TIDAK_VALID, AdminAction.INVALID, ticket),
        ),
    ]
    if not ticket.phone_confirmed_by:
        rows.append((_button(t.PHONE_CONFIRMED, AdminAction.PHONE, ticket),))
    return tuple(rows)


def _result_buttons(ticket: Ticket, view: CardView) -> Keyboard:
    """Step 6: send the result (again, after a link that was not opened)."""
    label = t.KIRIM_ULANG if ticket.links else t.KIRIM_HASIL
    return ((_button(label, AdminAction.RESULT, ticket),),)


def _link_buttons(ticket: Ticket, view: CardView) -> Keyboard:
    """Step 8: revoke the link, asked twice."""
    if view.mode == "revoke":
        return (
            (
                _button(t.REVOKE_CONFIRM, AdminAction.REVOKE_CONFIRM, ticket),
                _button(t.BACK, AdminAction.BACK, ticket),
            ),
        )
    return ((_button(t.REVOKE_LINK, AdminAction.REVOKE, ticket),),)


_STEP_BUTTONS: dict[TicketState, Callable[[Ticket, CardView], Keyboard]] = {
    TicketState.SUBMITTED: _completeness_buttons,
    TicketState.SUPPLEMENTED: _completeness_buttons,
    TicketState.COMPLETE: _validity_buttons,
    TicketState.VALID: _result_buttons,
    TicketState.DELIVERED: _link_buttons,
}
