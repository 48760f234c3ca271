"""The admin group's message for a ticket: its summary, history and the buttons for its step.

The message is edited in place as the ticket moves, so the group always shows its state.
A card can be in a picking view (what is missing, why invalid); that view lives in the store.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from chatbot.conversations import texts as t
from chatbot.conversations.messages import Button, Reply
from chatbot.conversations.payloads import AdminAction, AdminPayload
from chatbot.db.models import Ticket
from chatbot.services.enums import DocumentKind, MissingItem, Step, TicketState
from chatbot.services.identity import format_nip
from chatbot.store import Store

VIEW_TTL = timedelta(days=2)
HISTORY_LINES = 12

STEP_LABELS = {
    Step.SUBMIT: "Diajukan",
    Step.CHECK_COMPLETENESS: "Cek kelengkapan",
    Step.ASK_TO_COMPLETE: "Diminta melengkapi",
    Step.SUPPLEMENT: "Dilengkapi pemohon",
    Step.CHECK_VALIDITY: "Cek keabsahan",
    Step.RESET_IN_SPSE: "Reset di SPSE",
    Step.NOTIFY_REJECTION: "Penolakan dikirim",
    Step.DELIVER_RESULT: "Hasil dikirim",
    Step.ARCHIVE: "Arsip",
}


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


def _history(ticket: Ticket, zone: ZoneInfo) -> list[str]:
    lines = []
    for record in ticket.steps:
        if record.finished_at is None:
            continue
        label = STEP_LABELS[Step(record.step)]
        who = f" — {t.e(record.actor_name)}" if record.actor_name else ""
        outcome = f": {t.e(record.outcome.replace('_', ' '))}" if record.outcome else ""
        late = ""
        if record.late and record.standard_minutes is not None:
            minutes = math.ceil((record.office_seconds or 0) / 60)
            reason = record.late_reason or ""
            short = reason if len(reason) <= 80 else reason[:79] + "…"  # the card's 4096 chars
            why = f" ({t.e(short)})" if reason else " (alasan belum diisi)"
            late = f" ⏱ {minutes}/{record.standard_minutes} mnt{why}"
        lines.append(f"• {t.short_clock(record.finished_at, zone)} {label}{outcome}{who}{late}")
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
    pages = dict.fromkeys(DocumentKind, 0)
    for doc in ticket.documents:
        pages[doc.kind] += 1
    phone = t.e(ticket.phone or "-")
    phone += " ✅" if ticket.phone_verified else " (belum terverifikasi)"
    lines = [
        f"🎫 <b>Tiket {t.e(ticket.number)}</b> · {t.e(t.REQUEST_TYPES[ticket.request_type])}",
        f"<b>{t.STATE_FOR_ADMINS[ticket.state]}</b>",
        "",
        f"Pemohon: <b>{t.e(ticket.full_name)}</b> ({t.ROLE_SHORT[ticket.role]})",
        f"NIP: <code>{format_nip(ticket.nip)}</code>",
        f"Unit kerja: {t.e(ticket.work_unit)}",
        f"User ID SPSE: {t.e(ticket.spse_user_id or '(tidak diisi)')}",
        f"Email: {t.e(ticket.email)}",
        f"HP: {phone}",
        f"Dokumen: surat {pages[DocumentKind.LETTER]} file, SK {pages[DocumentKind.SK]} file"
        + (f" (putaran {ticket.round})" if ticket.round > 1 else ""),
    ]
    if ticket.requester_unreachable_at is not None:
        lines.append(t.unreachable_line(t.clock(ticket.requester_unreachable_at, zone)))
    if ticket.phone_confirmed_by:
        lines.append(f"📞 Dikonfirmasi telepon oleh {t.e(ticket.phone_confirmed_by)}")
    if ticket.state == TicketState.INCOMPLETE:
        lines.append("Kurang: " + ", ".join(t.MISSING[MissingItem(m)] for m in ticket.missing))
        if ticket.incomplete_note:
            lines.append(f"Catatan: <i>{t.e(ticket.incomplete_note)}</i>")
    if ticket.rejection_reason:
        lines.append(f"Alasan tolak: <i>{t.e(ticket.rejection_reason)}</i>")
    if ticket.state == TicketState.VALID and ticket.result_admin_name:
        lines.append(f"🔧 Hasil sedang diisi oleh {t.e(ticket.result_admin_name)}")
    lines += _link_lines(ticket, zone)
    deadline = _deadline_line(ticket, zone)
    if deadline:
        lines.append(deadline)
    history = _history(ticket, zone)
    if len(history) > HISTORY_LINES:  # keep the card far below Telegram's 4096 characters
        hidden = len(history) - HISTORY_LINES + 1
        history = [f"• … {hidden} langkah sebelumnya (lihat arsip)", *history[-HISTORY_LINES + 1 :]]
    if history:
        lines += ["", "<b>Riwayat</b>", *history]
    buttons = _buttons(ticket, view)
    if view.mode == "missing":
        lines += ["", f"<i>{t.PICK_MISSING}</i>"]
        if view.note:
            lines.append(f"Catatan: <i>{t.e(view.note)}</i>")
    elif view.mode == "reasons":
        lines += ["", f"<i>{t.PICK_REASON}</i>"]
    elif view.mode == "revoke" and ticket.state == TicketState.DELIVERED:
        lines += ["", "<i>Batalkan link? Pemohon tidak bisa membukanya lagi.</i>"]
    return Reply("\n".join(lines), buttons=buttons)


def _link_lines(ticket: Ticket, zone: ZoneInfo) -> list[str]:
    """The one-time link as the admins may see it: its state, never the link itself."""
    lines = []
    if ticket.incidents:
        lines.append(f"🚨 Insiden: link dibuka bukan oleh pemohon ({ticket.incidents}x)")
    link = ticket.latest_link
    if link is None:
        return lines
    state = link.state
    # Links given up before they were sent (a failed send, a crash) are not counted, unless
    # it is the newest: the admins must see why the ticket waits for a re-issue.
    counted = [x for x in ticket.links if x.sent_at is not None or x is link]
    nth = f" ke-{len(counted)}" if len(counted) > 1 else ""
    if state == "opened" and link.opened_at is not None:
        detail = f"dibuka {t.short_clock(link.opened_at, zone)}"
    elif state == "revoked" and link.revoked_at is not None:
        who = f" oleh {t.e(link.revoked_by)}" if link.revoked_by else ""
        detail = f"dibatalkan {t.short_clock(link.revoked_at, zone)}{who}"
    elif state == "expired":
        detail = f"kedaluwarsa {t.short_clock(link.expires_at, zone)} tanpa dibuka"
    elif state == "pending":
        detail = t.LINK_STATES["pending"]
    else:
        detail = f"terkirim, berlaku s.d. {t.short_clock(link.expires_at, zone)}"
        if link.views:
            detail += f", halaman dilihat {link.views}x"
    lines.append(f"🔗 Link{nth}: {detail}")
    if ticket.confirmed_at is not None:
        lines.append(f"✅ Pemohon sudah login ({t.short_clock(ticket.confirmed_at, zone)})")
    elif ticket.state == TicketState.RECEIVED and ticket.outcome is None:
        reminded = f", diingatkan {ticket.confirm_reminders}x" if ticket.confirm_reminders else ""
        lines.append(f"⏳ Menunggu konfirmasi login pemohon{reminded}")
    elif state == "opened" and ticket.outcome and ticket.state != TicketState.VALID:
        lines.append("Ditutup tanpa konfirmasi login pemohon")
    return lines


def _buttons(ticket: Ticket, view: CardView) -> tuple[tuple[Button, ...], ...]:
    state = ticket.state
    if state in (TicketState.SUBMITTED, TicketState.SUPPLEMENTED):
        if view.mode == "missing":
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
        return (
            (
                _button(t.LENGKAP, AdminAction.COMPLETE, ticket),
                _button(t.TIDAK_LENGKAP, AdminAction.INCOMPLETE, ticket),
            ),
        )
    if state == TicketState.COMPLETE:
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
    if state == TicketState.VALID:
        label = t.KIRIM_ULANG if ticket.links else t.KIRIM_HASIL
        return ((_button(label, AdminAction.RESULT, ticket),),)
    if state == TicketState.DELIVERED:
        if view.mode == "revoke":
            return (
                (
                    _button(t.REVOKE_CONFIRM, AdminAction.REVOKE_CONFIRM, ticket),
                    _button(t.BACK, AdminAction.BACK, ticket),
                ),
            )
        return ((_button(t.REVOKE_LINK, AdminAction.REVOKE, ticket),),)
    return ()
