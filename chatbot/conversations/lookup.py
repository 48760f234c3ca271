"""Admin commands in the group: `/arsip NOMOR` sends a ticket's archive (ZIP), `/cari TEKS`
finds tickets by number, NIP or name. Both hold or show personal data: admins only, in the
admin group only, and both are audited (`archive_exported`, `searched`)."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.messages import DeliveryError, Incoming, OutgoingFile, Reply, Response
from chatbot.conversations.queue import card_buttons
from chatbot.db.models import Ticket
from chatbot.services.identity import InvalidInput
from chatbot.services.retention import REMOVED
from chatbot.services.tickets import Actor, SearchResult, parse_ticket_number

log = logging.getLogger(__name__)

# The Bot API refuses uploads larger than this (sendDocument, 50 MB).
MAX_SEND_BYTES = 50 * 1024 * 1024

KIND_LABELS = {"number": "nomor tiket", "nip": "NIP", "name": "nama"}


def search_text(result: SearchResult, zone: ZoneInfo) -> str:
    label = KIND_LABELS[result.query.kind]
    query = result.query
    shown = mask_nip(query.value) if query.kind == "nip" else query.value
    if not result.tickets:
        return f"🔎 Tidak ada tiket dengan {label} <b>{t.e(shown)}</b>."
    head = f"🔎 {result.total} tiket dengan {label} <b>{t.e(shown)}</b>"
    head += ", terbaru dulu:" if result.total > 1 else ":"
    lines = [head]
    lines += [search_line(ticket, zone) for ticket in result.tickets]
    more = result.total - len(result.tickets)
    if more > 0:
        lines.append(f"… dan {more} tiket lainnya. Persempit pencarian.")
    return "\n".join(lines)


def search_line(ticket: Ticket, zone: ZoneInfo) -> str:
    purged = ticket.purged_at is not None
    name = REMOVED if purged else ticket.full_name
    nip = "NIP -" if purged or not ticket.nip else f"NIP {mask_nip(ticket.nip)}"
    return (
        f"• <code>{t.e(ticket.number)}</code> · {t.e(name)} · {nip} · "
        f"{t.admin_state(ticket.state, ticket.outcome)} · {day(ticket.created_at, zone)}"
    )


def mask_nip(nip: str) -> str:
    """Only the last 4 digits, as in the logs."""
    return f"…{nip[-4:]}" if len(nip) > 4 else nip


def day(moment: datetime, zone: ZoneInfo) -> str:
    return t.day_text(moment.astimezone(zone).date())


def _refusal(ctx: Context, inc: Incoming) -> Response | None:
    if not inc.sender_is_admin:
        return Response(replies=[Reply(t.NOT_ADMIN)])
    if not ctx.in_admin_group(inc):
        return Response(replies=[Reply(t.WRONG_CHAT)])
    return None


def _say(text: str) -> Response:
    return Response(replies=[Reply(text)])


async def handle_archive(ctx: Context, inc: Incoming, args: str) -> Response:
    """`/arsip NOMOR`: the ticket's archive as a ZIP in the group, on the audit trail."""
    refused = _refusal(ctx, inc)
    if refused is not None:
        return refused
    number = parse_ticket_number(args)
    if number is None:
        unknown = "Nomor tiket tidak dikenali. " if args.strip() else ""
        return _say(unknown + t.ARCHIVE_USAGE)
    ticket = await ctx.services.tickets.find_by_number(number)
    if ticket is None:
        return _say(t.archive_not_found(number))
    unavailable = _not_archived(ticket, number, ctx.services.zone)
    if unavailable:
        return _say(unavailable)
    return await _send_archive(ctx, inc, ticket, number)


def _not_archived(ticket: Ticket, number: str, zone: ZoneInfo) -> str | None:
    """Why the ticket has no archive to send: purged by retention, or not archived yet."""
    if ticket.purged_at is not None:
        return t.archive_purged(number, day(ticket.purged_at, zone))
    if ticket.archive_path is None:
        return t.archive_not_yet(number, ticket.state)
    return None


async def _send_archive(ctx: Context, inc: Incoming, ticket: Ticket, number: str) -> Response:
    """Build the ZIP, send it to the group, delete it, and audit the export."""
    services = ctx.services
    path = await services.archiver.bundle(number)
    if path is None:
        return _say(t.archive_missing(number))
    size = path.stat().st_size
    if size > MAX_SEND_BYTES:
        return _say(t.archive_too_big(number, size))
    upload = OutgoingFile(str(path), f"arsip-{number}.zip", t.archive_caption(number))
    try:
        await ctx.messenger.send_files(inc.chat_id, [upload], reply_to=inc.message_id)
    except DeliveryError as error:
        if not error.permanent:
            raise  # an outage: the worker tries the update again
        log.warning("sending the archive of %s was refused: %s", number, error.reason)
        return _say(t.archive_failed(number, error.reason))
    finally:  # no second copy of the documents at rest: the ZIP is made again on demand
        path.unlink(missing_ok=True)
    await services.archiver.record_export(
        ticket, Actor(inc.actor_id, inc.user_name), via=inc.channel
    )
    return Response()


async def handle_search(ctx: Context, inc: Incoming, args: str) -> Response:
    """`/cari TEKS`: at most 10 tickets, newest first; NIPs masked to their last 4 digits."""
    refused = _refusal(ctx, inc)
    if refused is not None:
        return refused
    if not args.strip():
        return Response(replies=[Reply(t.SEARCH_USAGE)])
    try:
        result = await ctx.services.tickets.search(args, actor=Actor(inc.actor_id, inc.user_name))
    except InvalidInput as bad:
        return Response(replies=[Reply(f"⚠️ {t.e(t.invalid_input(bad))}\n\n{t.SEARCH_USAGE}")])
    text = search_text(result, ctx.services.zone)
    return Response(replies=[Reply(text, card_buttons(result.tickets))])
