"""A worker's start-up does not load the report and PDF stack: it is loaded when a report,
a control sheet or an archive is made (bench/RESULTS.md measures the idle memory this saves)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fpdf", "openpyxl", "matplotlib")


def test_starting_the_bot_imports_no_report_or_pdf_library() -> None:
    probe = (
        "import sys, chatbot.cli, chatbot.runner, chatbot.app\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    assert loaded == []


def test_the_report_writers_still_resolve_from_the_package() -> None:
    import chatbot.reports as reports

    assert callable(reports.to_pdf) and callable(reports.to_xlsx) and callable(reports.chart_png)
