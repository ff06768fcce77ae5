"""Every output of a report, rendered into one folder (plus assets/ for the PNGs).

Reading order everywhere: the answer (headline and the gap over time), then the gap per task,
the claims, the leaderboard, models, lag and cost; the other figures last.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from openvsclosed.report.headline import headline_markdown, pick_rows
from openvsclosed.report.html import page
from openvsclosed.report.plots import gap_plot, params_plot
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
from openvsclosed.report.timeplots import frontier_plot, gap_over_time_plot
from openvsclosed.store import write_atomic

GAP_TIME = ("assets/gap_over_time.png", "The gap over time: best closed − best open per task "
            "at each release date (solid: published, dashed: measured here)")
FIGURES = [("assets/gap.png", "Gap per task, named: who against whom, released when"),
           ("assets/frontiers.png", "Open and closed frontiers over release date"),
           ("assets/params.png", "Score vs size; the best closed score drawn as a line")]


def display_tables(tables) -> list[DisplayTable]:  # noqa: ANN001  (ReportTables, see __init__)
    """The report's tables as display rows, in reading order."""
    own = own_task_rows(tables.gap, tables.results)
    return [gap_rows(tables.gap), *([own] if own else []), claims_rows(tables.claims),
            leaderboard_rows(tables.leaderboard), models_rows(tables.models),
            lag_rows(tables.lag, tables.lag_summary), efficiency_rows(tables.efficiency)]


def own_task_rows(gap: pd.DataFrame, results: pd.DataFrame) -> DisplayTable | None:
    """The user's own tasks in a section of their own, private ones marked."""
    if results.empty or "own_task" not in results or not results["own_task"].eq(True).any():
        return None
    own = results[results["own_task"].eq(True)]
    private = set(own.loc[own["private"].eq(True), "task"])
    table = gap_rows(gap[gap["task"].isin(set(own["task"]))])
    rows = [[f"{r[0]} (private)" if r[0] in private else r[0], *r[1:]] for r in table.rows]
    note = ("Tasks read from your own files (`file:` in the config), with the same intervals "
            "as the standard ones. Private tasks were sent to no API off the measuring machine "
            "unless allowed, and their records keep no sample text. " + table.note)
    return DisplayTable("own_tasks", "Your own tasks", table.header, rows, note, table.classes)


def headline_tasks(gap: pd.DataFrame) -> list[str]:
    """The published tasks the headline shows (one per family): the chart draws the same."""
    reported = gap[gap["source"] == "reported"] if not gap.empty else gap
    return sorted(pick_rows(reported, per_family=True)["task"]) if len(reported) else []


def write_report(out_dir: Path, tables, title: str) -> list[Path]:  # noqa: ANN001
    """md/csv/tex per table, report.md (README-ready), report.json, index.html and PNGs."""
    from openvsclosed.report.published import PUBLISHED_AS_OF

    out_dir = Path(out_dir)
    shown = display_tables(tables)
    head = tables.headline
    files: dict[str, str] = {"headline.md": headline_markdown(head)}
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
    figures = "".join(f"![{cap}]({src})\n\n" for src, cap in FIGURES)
    files["report.md"] = (f"# {title}\n\n{headline_markdown(head)}\n![{GAP_TIME[1]}]"
                          f"({GAP_TIME[0]})\n\n" + "\n".join(to_markdown(t) for t in shown)
                          + "\n## Plots\n\n" + figures)
    files["report.json"] = json.dumps(
        {"title": title, "headline": {"answers": head.answers, "notes": head.notes,
                                      "rows": head.rows.rows if head.rows else []},
         **{name: frame_json(frame) for name, frame in frames.items()},
         "lag_summary": tables.lag_summary,
         "lag_estimates": {source: frame_json(est["summary"])
                           for source, est in tables.lag_estimates.items()},
         "claims": claims},
        indent=1, ensure_ascii=False, default=str) + "\n"
    files["index.html"] = page(title, head, shown, GAP_TIME, FIGURES)
    for name, text in files.items():
        write_atomic(out_dir / name, text)
    published = not tables.points.empty and (tables.points["source"] == "reported").any()
    gap_over_time_plot(tables.points, out_dir / GAP_TIME[0], headline_tasks(tables.gap),
                       as_of=pd.Timestamp(PUBLISHED_AS_OF) if published else None)
    gap_plot(tables.gap, out_dir / "assets" / "gap.png")
    frontier_plot(tables.points, out_dir / "assets" / "frontiers.png")
    params_plot(tables.results, out_dir / "assets" / "params.png")
    return [out_dir / name for name in files] + [out_dir / src for src, _ in
                                                 [GAP_TIME, *FIGURES]]
