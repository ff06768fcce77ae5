"""PNG figures for the Markdown and HTML reports: gap per task, frontiers over time, score vs size.

Drawn with matplotlib's Agg backend (no display), without timestamps in the files.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from openvsclosed.report.lag import frontier  # noqa: E402

COLORS = {"open": "#2a9d8f", "closed": "#e76f51"}
SOURCE_MARKERS = {"measured": "o", "imported": "s", "reported": "^"}


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path


def gap_plot(gap: pd.DataFrame, path: Path) -> Path:
    """Gap (closed - open) per task and source, with its 95% interval where there is one."""
    rows = gap.dropna(subset=["gap"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(rows), 2) + 1.2))
    for i, r in rows.iterrows():
        has_ci = pd.notna(r["ci_low"]) and pd.notna(r["ci_high"])
        err = [[r["gap"] - r["ci_low"]], [r["ci_high"] - r["gap"]]] if has_ci else None
        color = COLORS["closed"] if r["gap"] > 0 else COLORS["open"]
        ax.errorbar(r["gap"], i, xerr=err, fmt=SOURCE_MARKERS.get(r["source"], "o"),
                    color=color, capsize=3)
    ax.axvline(0, color="#555", lw=1)
    labels = [f"{t} ({s})" for t, s in zip(rows["task"], rows["source"], strict=True)]
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("gap = best closed - best open (points); right of 0: closed leads")
    ax.set_title("Open vs closed gap per task (95% CI where measured)")
    if rows.empty:
        ax.text(0.5, 0.5, "no task has both an open and a closed score", ha="center",
                transform=ax.transAxes)
    return _save(fig, path)


def frontier_plot(points: pd.DataFrame, path: Path) -> Path:
    """Best open and best closed score over release date, one panel per benchmark."""
    benches = sorted(points["benchmark"].unique()) if not points.empty else []
    cols = min(3, max(len(benches), 1))
    nrows = max(1, -(-len(benches) // cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.4 * nrows), squeeze=False,
                             layout="constrained")
    source = points["source"] if "source" in points else pd.Series("reported", points.index)
    for ax, bench in zip(axes.flat, benches, strict=False):
        on_bench = points[points["benchmark"] == bench].assign(
            date=lambda d: pd.to_datetime(d["date"]), source=source)
        for (access, src), side in on_bench.groupby(["access", "source"]):
            color = COLORS.get(access, "#888")
            ax.scatter(side["date"], 100 * side["score"], color=color, alpha=0.4, s=14,
                       marker=SOURCE_MARKERS.get(src, "o"))
            front = frontier(side)
            if len(front) > 1:
                ax.step(front["date"], 100 * front["score"], where="post", color=color,
                        linestyle="-" if src == "reported" else "--",
                        label=f"{access} ({src})")
        ax.set_title(bench)
        if on_bench["date"].nunique() > 1:
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=4))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(benches):]:
        ax.axis("off")
    fig.suptitle("Frontiers over time (score in points by release date)")
    return _save(fig, path)


def params_plot(eff: pd.DataFrame, path: Path) -> Path:
    """Score against parameters (log scale) for models whose size is public."""
    sized = eff.dropna(subset=["params_b"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (access, source), group in sized.groupby(["access", "source"]):
        ax.scatter(group["params_b"], group["score"], color=COLORS.get(access, "#888"),
                   marker=SOURCE_MARKERS.get(source, "o"), label=f"{access}, {source}")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (billions, log scale)")
    ax.set_ylabel("score (points)")
    ax.set_title("Score vs size (closed models disclose no size)")
    if not sized.empty:
        ax.legend(fontsize=8)
    return _save(fig, path)


def lag_time_plot(estimates: dict[str, pd.DataFrame], path: Path, title: str = "") -> Path:
    """The open side's lag in months over time, one panel per estimator (report/catchup.py).

    Records and thresholds sit at the date the open side caught up; hollow triangles are
    censored (not reached by the as-of date, drawn there: the lag is at least that high).
    """
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.8), layout="constrained", sharey=True)
    benches = sorted(set().union(*(set(f["benchmark"]) for f in estimates.values()
                                   if "benchmark" in f)))
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
    return _save(fig, path)
