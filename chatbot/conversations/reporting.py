"""`/laporan [YYYY-MM]` in the admin group: the month's summary, its chart and the PDF."""

from __future__ import annotations

import logging

from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.messages import (
    DeliveryError,
    Incoming,
    OutgoingFile,
    Reply,
    Response,
)
from chatbot.db.models import utcnow
from chatbot.reports import MONTH_FORMAT_ERROR, parse_month, previous_month

log = logging.getLogger(__name__)


async def handle_report(ctx: Context, inc: Incoming, args: str) -> Response:
    """Last month by default; the files go to the group (admins only, checked by the caller
    and again here)."""
    reports = ctx.services.reports
    if not inc.sender_is_admin:
        return Response(replies=[Reply(t.NOT_ADMIN)])
    if reports is None:
        return Response(replies=[Reply(t.REPORTS_UNAVAILABLE)])
    month = args.split(maxsplit=1)[0] if args else previous_month(utcnow(), reports.zone).key
    try:
        month = parse_month(month).key
    except ValueError:
        return Response(replies=[Reply(f"⚠️ {t.e(MONTH_FORMAT_ERROR)} {t.REPORT_USAGE}")])
    made = await reports.files(month)
    chart = OutgoingFile(
        str(made.chart), made.chart.name, t.report_chart_caption(month), photo=True
    )
    pdf = OutgoingFile(str(made.pdf), made.pdf.name, t.report_pdf_caption(month))
    try:  # sent at once (files are not queued); a failure is said, not retried as a whole
        await ctx.messenger.send(inc.chat_id, Reply(made.summary))
        await ctx.messenger.send_files(inc.chat_id, [chart])
        await ctx.messenger.send_files(inc.chat_id, [pdf])
    except DeliveryError as failed:
        log.warning("sending the report of %s failed: %s", month, failed.reason)
        return Response(replies=[Reply(t.REPORT_NOT_SENT)])
    finally:  # made for this request only; the group has them now
        reports.discard(made.pdf.parent)
    return Response()
