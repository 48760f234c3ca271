"""Monthly SOP reports: the figures (figures.py, computing facts.py for a month.py) and
their files (pdf_report.py, xlsx_report.py, csv_report.py, chart.py, summary.py).

`build_report_files` is what the admin group's /laporan needs: a short summary to send as
text, the chart as a photo and the PDF as a document.

The file writers (PDF, spreadsheet, chart) load their libraries only when a report is
made: importing this package stays light, so a worker's start-up and idle memory do not
pay for them (`to_pdf`, `to_xlsx`, `to_csv` and `chart_png` are resolved on first use).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.reports.facts import MonthReport
from chatbot.reports.figures import month_report
from chatbot.reports.month import MONTH_FORMAT_ERROR, Month, parse_month, previous_month
from chatbot.reports.signer import Signer
from chatbot.reports.summary import summary_html
from chatbot.services.sla import SlaPolicy

if TYPE_CHECKING:
    from chatbot.reports.chart import chart_png
    from chatbot.reports.csv_report import to_csv
    from chatbot.reports.pdf_report import to_pdf
    from chatbot.reports.xlsx_report import to_xlsx

_LAZY = {
    "chart_png": "chatbot.reports.chart",
    "to_csv": "chatbot.reports.csv_report",
    "to_pdf": "chatbot.reports.pdf_report",
    "to_xlsx": "chatbot.reports.xlsx_report",
}

__all__ = [
    "MONTH_FORMAT_ERROR",
    "Month",
    "MonthReport",
    "MonthlyReports",
    "ReportFiles",
    "Signer",
    "build_report_files",
    "chart_png",
    "month_report",
    "parse_month",
    "previous_month",
    "summary_html",
    "to_csv",
    "to_pdf",
    "to_xlsx",
]


def __getattr__(name: str) -> Any:
    """The file writers, imported on first use (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class ReportFiles:
    report: MonthReport
    chart: Path  # laporan-YYYY-MM.png
    pdf: Path  # laporan-YYYY-MM.pdf
    summary: str  # Telegram HTML


def _write(report: MonthReport, folder: Path, signer: Signer | None) -> tuple[Path, Path]:
    from chatbot.reports.chart import chart_png
    from chatbot.reports.pdf_report import to_pdf

    folder.mkdir(parents=True, exist_ok=True)
    chart = folder / f"laporan-{report.month.key}.png"
    pdf = folder / f"laporan-{report.month.key}.pdf"
    chart.write_bytes(chart_png(report))
    pdf.write_bytes(to_pdf(report, signer=signer))
    return chart, pdf


async def build_report_files(
    sessions: async_sessionmaker[AsyncSession],
    month: str,
    zone: ZoneInfo,
    policy: SlaPolicy,
    folder: Path,
    signer: Signer | None = None,
) -> ReportFiles:
    """Compute `month` ("YYYY-MM"; ValueError with MONTH_FORMAT_ERROR otherwise) and write
    its chart and PDF (signed by `signer`) under `folder` (drawing runs in a thread, off the
    event loop)."""
    report = await month_report(sessions, month, zone, policy)
    chart, pdf = await asyncio.to_thread(_write, report, folder, signer)
    return ReportFiles(report=report, chart=chart, pdf=pdf, summary=summary_html(report))


class MonthlyReports:
    """The reports as the bot's dialogs use them: the database, clock and folder bound."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        policy: SlaPolicy,
        folder: Path,
        signer: Signer | None = None,
    ) -> None:
        self._sessions = sessions
        self.zone = zone
        self._policy = policy
        self._folder = folder
        self._signer = signer

    async def files(self, month: str) -> ReportFiles:
        """The month's files in a folder of their own (two admins asking at once never read
        each other's half-written files); `discard` them once sent."""
        self._folder.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._drop_leftovers)
        folder = Path(tempfile.mkdtemp(dir=self._folder, prefix="laporan-"))
        try:
            return await build_report_files(
                self._sessions, month, self.zone, self._policy, folder, self._signer
            )
        except BaseException:
            self.discard(folder)
            raise

    @staticmethod
    def discard(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def _drop_leftovers(self) -> None:
        """Folders a crash left between making and sending (older than an hour)."""
        cutoff = time.time() - 3600
        for left in self._folder.glob("laporan-*"):
            if left.is_dir() and left.stat().st_mtime < cutoff:
                self.discard(left)
