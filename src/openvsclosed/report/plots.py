"""PNG figures for the Markdown and HTML reports, in one house style.

Drawn with matplotlib's Agg backend (no display), without timestamps in the files. Every
figure goes through `style()` (fonts, grid, spines, colours: open teal, closed orange) and
`save()` (atomic, fixed dpi), so the page looks like one report. The two sides keep one colour
and one line style on every chart and on the page (Okabe-Ito blue and vermillion, told apart by
colour-blind readers and, through solid vs dashed lines, in black-and-white print). Date figures
live in report/timeplots.py and report/frontiers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

COLORS = {"open": "#0072B2", "closed": "#D55E00"}
"""Open blue, closed vermillion: the page's CSS uses the same two (report/html.py)."""
LINESTYLES = {"open": "-", "closed": "--"}
SOURCE_MARKERS = {"measured": "s", "imported": "D", "independent": "^", "reported": "o"}
SOURCE_LABELS = {"measured": "measured here", "imported": "imported lm_eval",
                 "independent": "independent (Epoch AI hub)", "reported": "published"}
HOLLOW = ("reported", "independent")
"""Sources drawn with hollow markers: published numbers, not measured here."""
STYLE = {"font.size": 8.5, "axes.titlesize": 9, "axes.labelsize": 8.5, "xtick.labelsize": 7.5,
         "ytick.labelsize": 7.5, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.color": "#e6e6e6", "grid.linewidth": 0.6,
         "axes.axisbelow": True, "figure.titlesize": 10, "legend.fontsize": 7.5}
DPI = 110


@contextmanager
def style() -> Iterator[None]:
    """The house style for one figure."""
    with plt.rc_context(STYLE):
        yield


def save(fig: plt.Figure, path: Path) -> Path:
    """Write a figure atomically (temp file, rename) with no timestamp; close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    tight = None if fig.get_layout_engine() is not None else "tight"
    fig.savefig(tmp, dpi=DPI, bbox_inches=tight, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path


def gap_plot(gap: pd.DataFrame, path: Path) -> Path:
    """Gap (closed − open) per task, named: who against whom, released when, which comparison.

    Intervals are drawn as lines from their bounds, so a gap outside its paired bootstrap
    interval (possible: the interval is over documents both answered) still draws.
    """
    rows = gap.dropna(subset=["gap"]).reset_index(drop=True)
    has_ci = rows["ci_low"].notna().any() if len(rows) else False
    with style():
        fig, ax = plt.subplots(figsize=(10, 0.3 * max(len(rows), 2) + 1.3),
                               layout="constrained")
        for i, r in rows.iterrows():
            color = COLORS["closed"] if r["gap"] > 0 else COLORS["open"]
            if pd.notna(r["ci_low"]) and pd.notna(r["ci_high"]):
                ax.hlines(i, r["ci_low"], r["ci_high"], color=color, lw=1.4)
            ax.scatter(r["gap"], i, color=color, marker=SOURCE_MARKERS.get(r["source"], "o"),
                       s=22, zorder=3)
        ax.axvline(0, color="#333", lw=0.9)
        _marker_legend(ax, sorted(set(rows["source"])) if len(rows) else [])
        ax.set_yticks(range(len(rows)), [_gap_label(r) for _, r in rows.iterrows()],
                      fontsize=6.5)
        ax.invert_yaxis()
        ax.set_xlabel("closed − open (points); > 0: closed leads")
        fig.suptitle("Gap per task" + (" (lines: 95% intervals, measured only)" if has_ci
                                       else " (published numbers have no interval)"))
        if rows.empty:
            ax.text(0.5, 0.5, "no task has both an open and a closed score", ha="center",
                    transform=ax.transAxes)
        return save(fig, path)


def _marker_legend(ax: plt.Axes, sources: list[str]) -> None:
    """Say what each marker and colour means (the markers were once unexplained)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="#555", marker=SOURCE_MARKERS.get(s, "o"), ls="",
                      label=SOURCE_LABELS.get(s, s)) for s in sources]
    handles += [Line2D([], [], color=COLORS["closed"], marker="o", ls="", label="closed leads"),
                Line2D([], [], color=COLORS["open"], marker="o", ls="", label="open leads")]
    ax.legend(handles=handles, loc="lower right", frameon=False, fontsize=6.5)


def _gap_label(r: pd.Series) -> str:
    way = "like with like" if r.get("comparison") == "like with like" else (
        "⚠ mixed" if str(r.get("protocol")).startswith("mixed") else "")
    def who(label: object, when: object) -> str:
        return f"{label}" + ("" if pd.isna(when) or when is None else f" ({str(when)[:7]})")
    return (f"{r['task']} [{r['source']}{', ' + way if way else ''}]: "
            f"{who(r['best_open'], r.get('open_released'))} vs "
            f"{who(r['best_closed'], r.get('closed_released'))}")


def params_plot(results: pd.DataFrame, path: Path, max_panels: int = 6) -> Path:
    """Score against parameters per task; closed models (size undisclosed) as dashed lines.

    A size axis can only place open models; the best closed score on each task is drawn
    across it so the open points are read against it. Panels: the measured tasks first, then
    those with the most sized rows.
    """
    rows = results.dropna(subset=["score"])
    sized = rows.dropna(subset=["params_b"]) if "params_b" in rows else rows.iloc[0:0]
    own = sized[~sized["source"].isin(HOLLOW)].groupby("task").size()  # measured tasks first
    counts = sized.groupby("task").size()
    order = sorted(counts.index, key=lambda t: (-own.get(t, 0), -counts[t], t))
    tasks = sorted(order[:max_panels])
    cols = min(3, max(len(tasks), 1))
    nrows = max(1, -(-len(tasks) // cols))
    with style():
        fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 2.9 * nrows + 0.6),
                                 squeeze=False, layout="constrained")
        for ax, task in zip(axes.flat, tasks, strict=False):
            on = sized[sized["task"] == task]
            for (access, source), group in on.groupby(["access", "source"]):
                ax.scatter(group["params_b"], 100 * group["score"], s=16,
                           color=COLORS.get(access, "#888"),
                           marker=SOURCE_MARKERS.get(source, "o"), label=f"{access}, {source}")
            closed = rows[(rows["task"] == task) & (rows["access"] == "closed")]
            for source, group in closed.groupby("source"):
                best = group.sort_values("score", ascending=False).iloc[0]
                ax.axhline(100 * best["score"], color=COLORS["closed"], lw=1,
                           linestyle="--" if source == "measured" else ":",
                           label=f"best closed, {source}")
                ax.annotate(f"{best['label']} ({source})", (0.01, 100 * best["score"]),
                            xycoords=("axes fraction", "data"), xytext=(0, 2),
                            textcoords="offset points", fontsize=6.5, color=COLORS["closed"])
            ax.set_xscale("log")
            ax.set_ylim(0, 100)
            ax.set_title(task)
            ax.set_xlabel("parameters (billions, log)")
        for ax in list(axes.flat)[len(tasks):]:
            ax.axis("off")
        if not tasks:
            axes.flat[0].text(0.5, 0.5, "no model with a published size", ha="center",
                              transform=axes.flat[0].transAxes)
        handles = {lab: h for ax in axes.flat for h, lab in zip(*ax.get_legend_handles_labels(),
                                                              strict=True)}
        if handles:
            fig.legend(handles.values(), handles.keys(), loc="outside lower center",
                       ncol=min(len(handles), 4), frameon=False)
        fig.suptitle("Score (points) against size; closed models disclose none, so their best "
                     "is a line")
        return save(fig, path)


def lag_time_plot(estimates: dict[str, pd.DataFrame], path: Path, title: str = "") -> Path:
    """The lag over time per estimator (below), in the house style.

    With no lag at all (no dated open and closed scores on one task) it draws no axes, only
    why: three empty panels on a 1970 axis once stood there.
    """
    with style():
        if not any(len(f) and "lag_months" in f and f["lag_months"].notna().any()
                   for name, f in estimates.items() if name != "summary"):
            return empty_figure(path, "No lag over time yet: it needs dated open and closed "
                                "scores on one task.")
        return _lag_time_plot(estimates, path, title)


def empty_figure(path: Path, why: str) -> Path:
    """A small figure that says why there is nothing to draw (no axes, no 1970 dates)."""
    with style():
        fig = plt.figure(figsize=(6.0, 0.6))
        fig.text(0.5, 0.5, why, ha="center", va="center", fontsize=9, color="#444")
        return save(fig, path)


def _lag_time_plot(estimates: dict[str, pd.DataFrame], path: Path, title: str = "") -> Path:
    """The open side's lag in months over time, one panel per estimator (report/catchup.py).

    Records and thresholds sit at the date the open side caught up; hollow triangles are
    censored (not reached by the as-of date, drawn there: the lag is at least that high).
    """
    benches = sorted(set().union(*(set(f["benchmark"]) for f in estimates.values()
                                   if "benchmark" in f)))
    legend_rows = -(-len(benches) // 7)  # the legend below grows the figure, not the panels
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.8 + 0.2 * legend_rows),
                             layout="constrained", sharey=True)
    palette = plt.get_cmap("tab20")
    color = {b: palette(i % 20) for i, b in enumerate(benches)}
    panels = [("records", "open_date", "Records (Epoch 2024)"),
              ("distance", "date", "Frontier distance"),
              ("thresholds", "open_date", "Threshold crossing (5-point steps)")]
    as_of = pd.to_datetime(estimates["summary"]["as_of"].iloc[0]) \
        if len(estimates.get("summary", [])) else None
    for ax, (name, when, label) in zip(axes, panels, strict=True):
        frame = estimates.get(name, pd.DataFrame())
        for bench in benches:
            rows = frame[frame["benchmark"] == bench] if len(frame) else frame
            if rows.empty:
                continue
            dates = pd.to_datetime(rows[when]).fillna(as_of)
            done = ~rows["censored"].astype(bool)
            if name == "distance":
                ax.plot(dates, rows["lag_months"], color=color[bench], label=bench, lw=1.4)
                ax.scatter(dates[~done], rows["lag_months"][~done], facecolors="none",
                           edgecolors=color[bench], s=12)
                continue
            ax.scatter(dates[done], rows["lag_months"][done], color=color[bench], s=22,
                       label=bench)
            ax.scatter(dates[~done], rows["lag_months"][~done], facecolors="none",
                       edgecolors=color[bench], s=30, marker="^")
        ax.axhline(0, color="#555", lw=0.8)
        ax.set_title(label, fontsize=10)
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    handles = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels(),
                                                           strict=True)}
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", fontsize=7,
                   ncol=min(len(handles), 7))
    axes[0].set_ylabel("months the open side trails")
    fig.suptitle(title or "Lag of the open frontier over time (hollow: censored, at least)")
    return save(fig, path)
