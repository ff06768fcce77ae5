"""Figures over release dates: each benchmark's two frontiers (epoch-lag) and the date axis.

The report's small multiples per task family live in report/frontiers.py (they replaced the
gap-over-time chart, whose eleven crossing lines had to be studied). Both use the house style
of report/plots.py. Dates get an explicit locator chosen from the
span shown (matplotlib's AutoDateLocator warns on one-date panels), a panel with one date is
drawn on a few months around it rather than on the axis of the whole data, and score axes
start at zero so a two-point gap is not drawn as a chasm.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from openvsclosed.report.lag import frontier
from openvsclosed.report.plots import COLORS, SOURCE_MARKERS, save, style

LINE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
               "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#843c39", "#3182bd", "#637939"]
"""Dark, distinct line colours (tab10 and darker extras): up to 14 tasks stay readable."""
SOURCE_LINES = {"reported": "-", "independent": "-.", "imported": ":", "measured": "--"}
SOURCE_NAMES = {"reported": "published", "independent": "independent (Epoch AI hub)",
                "imported": "imported", "measured": "measured here"}


def date_axis(ax: plt.Axes, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Ticks that fit the span: years, quarters or months; one date gets a few months around."""
    if last - first < pd.Timedelta(days=60):
        first, last = first - pd.Timedelta(days=75), last + pd.Timedelta(days=75)
    span = (last - first).days
    pad = pd.Timedelta(days=max(span * 0.04, 10))
    ax.set_xlim(first - pad, last + pad)
    if span > 3 * 365:
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    elif span > 365:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, span // 120)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))


def frontier_plot(points: pd.DataFrame, path: Path) -> Path:
    """Best open and best closed score over release date, one panel per benchmark.

    The legend sits below the panels (it never covers a point); scores run from 0 to 100.
    """
    benches = sorted(points["benchmark"].unique()) if not points.empty else []
    cols = min(3, max(len(benches), 1))
    nrows = max(1, -(-len(benches) // cols))
    source = points["source"] if "source" in points else pd.Series("reported", points.index)
    pts = points.assign(source=source)
    with style():
        fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 2.9 * nrows + 0.6),
                                 squeeze=False, layout="constrained")
        for ax, bench in zip(axes.flat, benches, strict=False):
            on_bench = pts[pts["benchmark"] == bench].assign(
                date=lambda d: pd.to_datetime(d["date"])).dropna(subset=["date", "score"])
            for (access, src), side in on_bench.groupby(["access", "source"]):
                color = COLORS.get(access, "#888")
                marker = SOURCE_MARKERS.get(src, "o")
                ax.scatter(side["date"], 100 * side["score"], color=color, s=16,
                           alpha=0.9 if src == "measured" else 0.45, marker=marker,
                           label=f"{access}, {SOURCE_NAMES.get(src, src)}", zorder=3)
                front = frontier(side)
                if len(front) > 1:
                    ax.step(front["date"], 100 * front["score"], where="post", color=color,
                            linestyle=SOURCE_LINES.get(src, "-"), lw=1.2)
            ax.set_title(bench)
            ax.set_ylim(0, 100)
            if len(on_bench):
                date_axis(ax, on_bench["date"].min(), on_bench["date"].max())
        for ax in list(axes.flat)[len(benches):]:
            ax.axis("off")
        handles = {lab: h for ax in axes.flat for h, lab in zip(*ax.get_legend_handles_labels(),
                                                              strict=True)}
        if handles:
            fig.legend(handles.values(), handles.keys(), loc="outside lower center",
                       ncol=min(len(handles), 4), fontsize=8, frameon=False)
        fig.suptitle("Best score by release date (points, axis from 0); lines: each side's "
                     "frontier")
        return save(fig, path)
