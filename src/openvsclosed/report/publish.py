"""Every output of a report, written atomically into one folder (plus assets/ for the PNGs)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from openvsclosed.report.html import page
from openvsclosed.report.plots import frontier_plot, gap_plot, params_plot
from openvsclosed.report.render import (
    DisplayTable,
    claims_rows,
    efficiency_rows,
    frame_json,
    gap_rows,
    lag_rows,
    leaderboard_rows,
    models_rows,
    to_csv,
    to_latex,
    to_markdown,
)
from openvsclosed.store import write_atomic

FIGURES = [("assets/gap.png", "Gap per task (closed - open) with 95% intervals"),
           ("assets/frontiers.png", "Open and closed frontiers over release date"),
           ("assets/params.png", "Score vs parameters")]


def display_tables(tables) -> list[DisplayTable]:  # noqa: ANN001  (ReportTables, see __init__)
    """The report's tables as display rows, in reading order."""
    return [leaderboard_rows(tables.leaderboard), gap_rows(tables.gap),
            claims_rows(tables.claims), models_rows(tables.models),
            lag_rows(tables.lag, tables.lag_summary), efficiency_rows(tables.efficiency)]


def write_report(out_dir: Path, tables, title: str) -> list[Path]:  # noqa: ANN001
    """md/csv/tex per table, report.md (README-ready), report.json, index.html and PNGs."""
    out_dir = Path(out_dir)
    shown = display_tables(tables)
    files: dict[str, str] = {}
    for table in shown:
        files[f"{table.name}.md"] = to_markdown(table, level=1)
    for name in ("leaderboard", "gap"):
        files[f"{name}.tex"] = to_latex(next(t for t in shown if t.name == name))
    frames = {"leaderboard": tables.leaderboard, "gap": tables.gap, "models": tables.models,
              "lag": tables.lag, "efficiency": tables.efficiency}
    for name, frame in frames.items():
        files[f"{name}.csv"] = to_csv(frame)
    claims = [vars(v) for v in tables.claims]
    files["claims.csv"] = to_csv(pd.DataFrame(claims))
    intro = tables.intro
    figures = "".join(f"![{cap}]({src})\n\n" for src, cap in FIGURES)
    files["report.md"] = (f"# {title}\n\n{intro}\n\n" +
                          "\n".join(to_markdown(t) for t in shown) + "\n## Plots\n\n" + figures)
    files["report.json"] = json.dumps(
        {"title": title, "intro": intro,
         **{name: frame_json(frame) for name, frame in frames.items()},
         "lag_summary": tables.lag_summary, "claims": claims},
        indent=1, ensure_ascii=False, default=str) + "\n"
    files["index.html"] = page(title, intro, shown, FIGURES)
    for name, text in files.items():
        write_atomic(out_dir / name, text)
    gap_plot(tables.gap, out_dir / "assets" / "gap.png")
    frontier_plot(tables.points, out_dir / "assets" / "frontiers.png")
    params_plot(tables.efficiency, out_dir / "assets" / "params.png")
    return [out_dir / name for name in files] + [out_dir / src for src, _ in FIGURES]
