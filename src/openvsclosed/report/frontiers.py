"""The two frontiers over time as small multiples: one panel per task family.

Why this chart: a reader must see in one look who leads and by how long, as on Epoch AI's
open-vs-closed page. Each panel draws the best open and the best closed score so far as two
step lines (open blue solid, closed vermillion dashed: the colours of every chart and of the
page, the line styles for print and colour-blind readers), published and measured points with
different markers, and writes the latest gap and the lag on the panel.

Which points a panel draws and the gap and lag it states: report/panels.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from openvsclosed.report.headline import FAMILIES
from openvsclosed.report.lag import frontier
from openvsclosed.report.panels import (
    Panel,
    catch_up,
    lead_of,
    measure,
    pick_series,
    with_family,
)
from openvsclosed.report.plots import (
    COLORS,
    HOLLOW,
    LINESTYLES,
    SOURCE_LABELS,
    SOURCE_MARKERS,
    empty_figure,
    save,
    style,
)
from openvsclosed.report.timeplots import date_axis

SOURCE_PREFERENCE = ["independent", "reported", "imported", "measured"]
"""Which source a panel's numbers come from when several are drawn (the answer's, if any)."""


@dataclass
class FrontierChart:
    """The written figure(s) and the panels they hold."""

    paths: list[Path]
    panels: list[Panel]
    sources: tuple[str, ...] = ()
    """The sources whose points are drawn (the legend and the alt text name their markers)."""

    @property
    def alt(self) -> str:
        """Alt text saying what the chart shows, not only what it is."""
        if not self.panels:
            return "No frontier chart: no task family has dated scores yet."
        closed = [p.family for p in self.panels if p.leader == "closed"]
        opened = [p.family for p in self.panels if p.leader == "open"]
        names = ", ".join(p.family for p in self.panels)
        return (f"Small multiples, one panel per task family ({names}): best open score "
                "(blue, solid line) and best closed score (vermillion, dashed "
                f"line) by release date, {markers_text(self.sources)}. At the data's date "
                f"closed leads on {len(closed)} "
                f"({', '.join(closed) or 'none'}) and open on {len(opened)} "
                f"({', '.join(opened) or 'none'}); each panel states its gap and lag.")


MARKER_WORDS = {"reported": "makers' published points hollow circles",
                "independent": "independent evaluations (Epoch AI's hub) hollow triangles",
                "imported": "imported lm_eval results filled diamonds",
                "measured": "measured points filled squares"}


def markers_text(sources: tuple[str, ...] | list[str]) -> str:
    """Which marker each drawn source has, in words (alt text and caption)."""
    found = [MARKER_WORDS[s] for s in MARKER_WORDS if s in sources]
    return ", ".join(found) or "no points"


def _draw_side(ax: plt.Axes, rows: pd.DataFrame, access: str, source: str,
               as_of: pd.Timestamp) -> None:
    side = rows[rows["access"] == access]
    if side.empty:
        return
    color, marker = COLORS[access], SOURCE_MARKERS.get(source, "o")
    filled = source not in HOLLOW
    ax.scatter(side["date"], 100 * side["score"], s=14, marker=marker, zorder=3,
               facecolors=color if filled else "white", edgecolors=color, linewidths=0.9)
    front = frontier(side)
    xs = [*front["date"], max(as_of, front["date"].iloc[-1])]
    ys = [*(100 * front["score"]), 100 * front["score"].iloc[-1]]
    ax.step(xs, ys, where="post", color=color, linestyle=LINESTYLES[access],
            lw=1.7 if source != "measured" else 1.2)


def _panel(ax: plt.Axes, family: str, rows: pd.DataFrame, lead,
           as_of: pd.Timestamp) -> Panel:
    series, matched = pick_series(rows, lead)
    drawn = pd.concat(series.values()) if series else rows.iloc[0:0]
    others = rows.drop(index=drawn.index, errors="ignore")
    if len(others):
        ax.scatter(others["date"], 100 * others["score"], s=5, color="#c4c4c4", zorder=2,
                   linewidths=0)
    for source, on_source in series.items():
        for access in ("closed", "open"):
            _draw_side(ax, on_source, access, source, as_of)
    wanted = [getattr(lead, "source", None), *SOURCE_PREFERENCE, *series]
    source = next(s for s in wanted if s in series)
    chosen = series[source]
    gap, lag = measure(chosen, as_of)
    verdict = None
    if matched and source == getattr(lead, "source", None):
        gap, verdict = float(lead.gap), str(lead.leader)
    task = str(chosen["benchmark"].iloc[0])
    series_name = (str(lead.protocol) if matched and source == getattr(lead, "source", None)
                   else str(chosen["series"].dropna().iloc[0]) if "series" in chosen
                   and chosen["series"].notna().any() else task)
    panel = Panel(family, task, series_name, source, gap, lag, len(others), verdict)
    span = catch_up(chosen, as_of)
    if lag and span is not None:
        ax.annotate("", xy=(span[0], 100 * span[2]), xytext=(span[1], 100 * span[2]),
                    arrowprops={"arrowstyle": "<->", "color": "#333", "lw": 0.8})
    ax.text(0.02, 0.04, panel.text(), transform=ax.transAxes, fontsize=7, va="bottom",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
    ax.set_title(f"{family} ({task})" if task != family else family, fontsize=8.5)
    ax.set_ylim(0, 100)
    date_axis(ax, rows["date"].min(), max(rows["date"].max(), as_of))
    return panel


def _legend(fig: plt.Figure, sources: set[str], faint: bool) -> None:
    handles = [Line2D([], [], color=COLORS["open"], ls=LINESTYLES["open"], lw=1.7,
                      label="best open so far"),
               Line2D([], [], color=COLORS["closed"], ls=LINESTYLES["closed"], lw=1.7,
                      label="best closed so far")]
    for source in sorted(sources):
        handles.append(Line2D([], [], color="#444", marker=SOURCE_MARKERS.get(source, "o"),
                              ls="", markerfacecolor="white" if source in HOLLOW else "#444",
                              label=f"{SOURCE_LABELS.get(source, source)} score"))
    if faint:
        handles.append(Line2D([], [], color="#b8b8b8", marker="o", ls="", markersize=4,
                              label="other task or protocol of the family"))
    handles.append(Line2D([], [], color="#333", marker=r"$\leftrightarrow$", ls="",
                          markersize=10, label="lag: from closed to open reaching the level"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3),
               frameon=False, fontsize=7.5)


def frontiers_plot(points: pd.DataFrame, paths: list[Path], answer=None,
                   as_of: pd.Timestamp | str | None = None,
                   columns: tuple[int, ...] = (3,)) -> FrontierChart:
    """Draw the small multiples once per column count (a wide and a phone layout).

    `answer` is the headline's Answer (or None); `as_of` the data's date (default: the
    answer's `data_through`, else the newest point).
    """
    pts = with_family(points)
    if as_of is None and getattr(answer, "data_through", None):
        as_of = answer.data_through
    as_of = pd.Timestamp(as_of) if as_of is not None else (
        pts["date"].max() if len(pts) else None)
    order = {name: i for i, (name, _) in enumerate(FAMILIES)}
    families = sorted(pts["family"].unique(), key=lambda f: (order.get(f, len(order)), f))
    if not families:
        for path in paths:
            empty_figure(path, "No frontier chart yet: no task family has dated scores.")
        return FrontierChart(list(paths), [])
    panels: list[Panel] = []
    for path, cols in zip(paths, columns, strict=True):
        panels = []
        cols = max(1, min(cols, len(families)))
        nrows = -(-len(families) // cols)
        with style():
            fig, axes = plt.subplots(nrows, cols, figsize=(3.9 * cols, 2.6 * nrows + 0.9),
                                     squeeze=False, layout="constrained")
            for ax, family in zip(axes.flat, families, strict=False):
                rows = pts[pts["family"] == family]
                panels.append(_panel(ax, family, rows, lead_of(answer, family), as_of))
            for ax in list(axes.flat)[len(families):]:
                ax.axis("off")
            for ax in axes[:, 0]:
                ax.set_ylabel("score (points)")
            drawn = {p.source for p in panels} | set(pts["source"])
            _legend(fig, drawn, faint=any(p.others for p in panels))
            fig.suptitle(f"Best open vs best closed per task family, to {as_of.date()}")
            save(fig, path)
    return FrontierChart(list(paths), panels, tuple(sorted(set(pts["source"]))))
