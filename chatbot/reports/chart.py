"""A MonthReport's chart as a PNG: time per step against the standard (matplotlib, imported
only when drawing)."""

from __future__ import annotations

import io

from chatbot.reports.facts import MonthReport, StepFigures
from chatbot.reports.labels import minutes

CHART_NAMES = {
    2: "Kelengkapan",
    3: "Minta\nlengkapi",
    5: "Keabsahan",
    6: "Reset\nSPSE",
    7: "Penolakan",
    8: "Penyampaian\nhasil",
    9: "Arsip",
}


def chart_png(report: MonthReport) -> bytes:
    """Median and P90 bars per step against each step's standard, readable on a phone.

    A bar far above every standard (a step left for days) would flatten the others, so the
    axis stops at 4x the largest standard and such a bar is cut there, its value written on
    top.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = report.steps
    figure = Figure(figsize=(8, 5), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(steps)))
    standards = [max(s.standards, default=0) for s in steps]
    values = [v for s in steps for v in (s.median_minutes, s.p90_minutes) if v is not None]
    top = max([*standards, *values, 1.0]) * 1.15
    limit = 4 * max([*standards, 1])
    top = min(top, limit * 1.15)
    width = 0.38
    for offset, label, color, pick in (
        (-width / 2, "Median", "#2b6cb0", _median),
        (width / 2, "P90", "#dd8a2e", _p90),
    ):
        heights = [pick(s) or 0.0 for s in steps]
        xs = [p + offset for p in positions]
        bars = axes.bar(xs, [min(h, limit) for h in heights], width, label=label, color=color)
        for bar, height in zip(bars, heights, strict=True):
            middle = bar.get_x() + bar.get_width() / 2
            if height > limit:  # cut: hatched, the real value written down inside
                bar.set_hatch("//")
                axes.annotate(
                    f"{height:.0f} ▲", (middle, limit * 0.98), ha="center", va="top",
                    rotation=90, fontsize=10, color="white", fontweight="bold",
                )  # fmt: skip
            elif height:
                axes.annotate(
                    minutes(height), (middle, height), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", zorder=5,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                )  # fmt: skip
    legend = "Standar SOP"
    for position, s in zip(positions, steps, strict=True):
        for standard in s.standards or (0,):  # each standard the month's records carried
            axes.hlines(
                standard,
                position - 0.48,
                position + 0.48,
                colors="#c53030",
                linewidth=2.5,
                zorder=3,
                label=legend,
            )
            legend = "_nolegend_"
    for position, s in zip(positions, steps, strict=True):
        if not s.finished:
            axes.annotate("tidak ada\ndata", (position, 0), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(positions, [f"L{s.step}\n{CHART_NAMES.get(s.step, '')}" for s in steps])
    axes.tick_params(labelsize=10)
    axes.set_ylim(0, top)
    axes.set_ylabel("menit jam kerja", fontsize=11)
    axes.set_title(f"Waktu per langkah SOP — {report.month.label}", fontsize=13)
    axes.legend(fontsize=10, loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _median(s: StepFigures) -> float | None:
    return s.median_minutes


def _p90(s: StepFigures) -> float | None:
    return s.p90_minutes
