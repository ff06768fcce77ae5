"""Figures over release dates: the gap over time (the articles' question) and the frontiers.

Both use the house style of report/plots.py. Dates get an explicit locator chosen from the
span shown (matplotlib's AutoDateLocator warns on one-date panels), a panel with one date is
drawn on a few months around it rather than on the axis of the whole data, and score axes
start at zero so a two-point gap is not drawn as a chasm.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from openvsclosed.report.lag import frontier
from openvsclosed.report.plots import COLORS, SOURCE_MARKERS, save, style

LINE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
               "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#843c39", "#3182bd", "#637939"]
"""Dark, distinct line colours (tab10 and darker extras): up to 14 tasks stay readable."""
SOURCE_LINES = {"reported": "-", "imported": ":", "measured": "--"}
SOURCE_NAMES = {"reported": "published", "imported": "imported", "measured": "measured here"}


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


def gap_series(points: pd.DataFrame) -> pd.DataFrame:
    """Per task and source, at each release date: best closed − best open so far (points).

    Starts where both sides have a score; each row names the two models holding the best.
    """
    rows = []
    pts = points.dropna(subset=["score", "date"]).assign(date=lambda d: pd.to_datetime(d["date"]))
    for (bench, source), on in pts.groupby(["benchmark", "source"], sort=True):
        if set(on["access"]) < {"open", "closed"}:
            continue
        on = on.sort_values(["date", "score"], ascending=[True, False])
        best: dict[str, tuple[float, str] | None] = {"open": None, "closed": None}
        for day, same_day in on.groupby("date", sort=True):
            for _, r in same_day.iterrows():
                side = r["access"]
                if side in best and (best[side] is None or r["score"] > best[side][0]):
                    best[side] = (float(r["score"]), str(r["model"]))
            if best["open"] and best["closed"]:
                rows.append({"benchmark": bench, "source": source, "date": day,
                             "gap": 100 * (best["closed"][0] - best["open"][0]),
                             "open_model": best["open"][1], "closed_model": best["closed"][1]})
    return pd.DataFrame(rows, columns=["benchmark", "source", "date", "gap", "open_model",
                                       "closed_model"])


def gap_over_time_plot(points: pd.DataFrame, path: Path, tasks: list[str] | None = None,
                       as_of: pd.Timestamp | None = None) -> Path:
    """Best closed − best open per task over release dates; published solid, measured dashed.

    `tasks` limits the published lines (the headline's one task per family); each published
    line runs to `as_of` so a gap that stopped changing still shows where it stands. Lines are
    named at their right end (labels pushed apart so none overlap), not in a legend box.
    """
    series = gap_series(points)
    if tasks is not None:
        series = series[series["benchmark"].isin(tasks) | (series["source"] != "reported")]
    with style():
        fig, ax = plt.subplots(figsize=(7.4, 3.5), layout="constrained")
        names = sorted(series["benchmark"].unique())
        color = {b: LINE_COLORS[i % len(LINE_COLORS)] for i, b in enumerate(names)}
        last = pd.Timestamp(as_of) if as_of is not None else (
            series["date"].max() if len(series) else None)
        ends = []
        for (bench, source), line in series.groupby(["benchmark", "source"], sort=True):
            xs, ys = list(line["date"]), list(line["gap"])
            end = max(last, xs[-1]) if source == "reported" else xs[-1]
            ax.step([*xs, end], [*ys, ys[-1]], where="post", color=color[bench],
                    linestyle=SOURCE_LINES.get(source, "-"), lw=1.5)
            ax.scatter(xs, ys, color=color[bench], s=12, zorder=3,
                       marker=SOURCE_MARKERS.get(source, "o"))
            tag = "" if source == "reported" else f" ({SOURCE_NAMES.get(source, source)})"
            ends.append((ys[-1], f"{bench}{tag}", color[bench]))
        ax.axhline(0, color="#333", lw=0.9)
        if len(series):
            right = max(series["date"].max(), last)
            date_axis(ax, series["date"].min(), right)
            top = max(5.0, float(np.nanmax(np.abs(series["gap"]))) * 1.12)
            ax.set_ylim(-top, top)
            _end_labels(ax, ends, 2 * top)
        else:
            ax.text(0.5, 0.5, "no task has both an open and a closed score yet",
                    ha="center", va="center", transform=ax.transAxes)
        ax.text(0.01, 0.97, "closed leads ↑", transform=ax.transAxes, va="top", fontsize=7.5,
                color=COLORS["closed"])
        ax.text(0.01, 0.03, "open leads ↓", transform=ax.transAxes, va="bottom", fontsize=7.5,
                color=COLORS["open"])
        ax.set_ylabel("best closed − best open (points)")
        ax.set_title("Gap over time per task (solid: published, dashed: measured here)")
        return save(fig, path)


def _end_labels(ax: plt.Axes, ends: list[tuple[float, str, object]], span: float) -> None:
    """Name each line at the right edge, nudged apart vertically so no two labels overlap."""
    if not ends:
        return
    step = span * 0.047
    ends = sorted(ends)
    placed = [y for y, _, _ in ends]
    for i in range(1, len(placed)):  # push up from the bottom, then down from the top
        placed[i] = max(placed[i], placed[i - 1] + step)
    placed[-1] = min(placed[-1], span / 2 - step / 2)
    for i in range(len(placed) - 2, -1, -1):
        placed[i] = min(placed[i], placed[i + 1] - step)
    for (y, text, color), y_label in zip(ends, placed, strict=True):
        ax.annotate(text, xy=(1.0, y), xycoords=("axes fraction", "data"),
                    xytext=(1.01, y_label), textcoords=("axes fraction", "data"),
                    fontsize=6.8, color=color, va="center", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": color, "lw": 0.5})


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
