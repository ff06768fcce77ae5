"""Every output of a report, rendered into one folder (plus assets/ for the PNGs).

Reading order everywhere: the answer (one sentence, three numbers), the two frontiers per task
family, what the measured side is missing, then the gap per task, the claims, the leaderboard,
models, lag and cost; the other figures last.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path

import pandas as pd

from openvsclosed.report.board import leaderboard_rows
from openvsclosed.report.forks import ForkPool
from openvsclosed.report.frontiers import frontiers_plot
from openvsclosed.report.headline import headline_markdown
from openvsclosed.report.html import answer_numbers, page, skipped_lines
from openvsclosed.report.plots import gap_plot, params_plot
from openvsclosed.report.render import (
    DisplayTable,
    claims_rows,
    efficiency_rows,
    frame_json,
    gap_rows,
    lag_rows,
    missing,
    models_rows,
    to_csv,
    to_latex,
    to_markdown,
)
from openvsclosed.store import write_atomic

FRONTIERS = ("assets/frontiers.png", "assets/frontiers_narrow.png")
"""The small multiples: three columns for wide screens, one for phones (picked by <picture>)."""
FIGURES = [("assets/gap.png", "Gap per task (closed − open, points; right of zero: closed "
            "leads), named: who against whom, released when; marker shape: source"),
           ("assets/params.png", "Score against size per task; closed models disclose no "
            "size, so their best score is drawn as a horizontal line")]


def display_tables(tables) -> list[DisplayTable]:
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


def trace_frames(tables) -> dict[str, pd.DataFrame]:
    """pairs.csv and exclusions.csv, so each number of the answer traces to its source.

    Every like-with-like pair the answer chose among (tier, series, table) and every published
    cell left out, by rule. Written with their header when empty, so a script reading them
    never meets a missing file.
    """
    from openvsclosed.report.leads import PAIR_COLUMNS

    pairs = getattr(tables, "pairs", None)
    exclusions = getattr(tables, "exclusions", None)
    return {"pairs": pairs if pairs is not None else pd.DataFrame(columns=PAIR_COLUMNS),
            "exclusions": (exclusions if exclusions is not None
                           else pd.DataFrame(columns=["rule", "cells", "examples"]))}


def answer_markdown(answer) -> str:
    """The answer in one sentence, three numbers and how sure, as Markdown ('' when none)."""
    if answer is None:
        return ""
    nums = "\n".join(f"- **{big}**: {what}" for big, what, _ in answer_numbers(answer))
    return f"**{answer.sentence}**\n\n{nums}\n\n{answer.sureness}\n\n"


def plain(value: object) -> object:
    """A dataclass (Answer, FamilyLead) as strict JSON values (NaN and NA become null)."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if missing(value) else value
    return None if missing(value) else str(value)


def write_report(out_dir: Path, tables, title: str, forks: ForkPool | None = None,
                 ) -> list[Path]:
    """md/csv/tex per table, report.md (README-ready), report.json, index.html and PNGs.

    Then the lag files per source (report/lagfiles.py), listed last. The figures are started
    first, the longest first, and drawn beside the tables (`forks`, report/forks.py); all of
    them are finished when this returns (by the caller's `with`, when it passed `forks`).
    """
    if forks is None:
        with ForkPool() as own:
            return write_report(out_dir, tables, title, own)
    from openvsclosed.report.lagfiles import write_source_lags

    out_dir = Path(out_dir)
    head = tables.headline
    answer = getattr(head, "answer", None)
    if answer is not None and not answer.data_through and len(tables.points):
        answer = replace(answer, data_through=str(  # shown: the newest dated score
            pd.to_datetime(tables.points["date"], errors="coerce").max().date()))
    layouts = [forks.submit(frontiers_plot, tables.points, [out_dir / path], answer,
                            columns=(cols,)) for path, cols in zip(FRONTIERS, (3, 1), strict=True)]
    forks.submit(gap_plot, tables.gap, out_dir / "assets" / "gap.png")
    forks.submit(params_plot, tables.results, out_dir / "assets" / "params.png")
    lags = write_source_lags(tables.lag_estimates, out_dir, forks)
    shown = display_tables(tables)
    skipped = list(getattr(tables, "skipped", []) or [])
    files: dict[str, str] = {"headline.md": headline_markdown(head)}
    for table in shown:
        files[f"{table.name}.md"] = to_markdown(table, level=1)
    left_out = getattr(head, "exclusions", None)
    if left_out is not None and left_out.rows:  # every published cell traceable from gap.md
        files["gap.md"] += "\n" + to_markdown(left_out)
    for name in ("leaderboard", "gap"):
        files[f"{name}.tex"] = to_latex(next(t for t in shown if t.name == name))
    frames = {"leaderboard": tables.leaderboard, "gap": tables.gap, "models": tables.models,
              "lag": tables.lag, "efficiency": tables.efficiency}
    for name, frame in frames.items():
        files[f"{name}.csv"] = to_csv(frame)
    for name, frame in trace_frames(tables).items():
        files[f"{name}.csv"] = to_csv(frame)
    claims = [vars(v) for v in tables.claims]
    files["claims.csv"] = to_csv(pd.DataFrame(claims))
    files["skipped.json"] = json.dumps(skipped, indent=1, ensure_ascii=False, default=str) + "\n"
    first = layouts[0].result()  # both layouts hold the same panels
    layouts[1].result()
    chart = replace(first, paths=[out_dir / path for path in FRONTIERS])
    figures = "".join(f"![{cap}]({src})\n\n" for src, cap in FIGURES)
    skipped_md = "".join(f"- {line}\n" for line in skipped_lines(skipped))
    summary = headline_markdown(head)
    lead = "" if answer is None or answer.sentence in summary else answer_markdown(answer)
    files["report.md"] = (f"# {title}\n\n{lead}{summary}\n![{chart.alt}]({FRONTIERS[0]})\n\n"
                          + (f"Skipped jobs (every one in skipped.json):\n\n{skipped_md}\n"
                             if skipped_md else "")
                          + "\n".join(to_markdown(t) for t in shown)
                          + "\n## Plots\n\n" + figures)
    files["report.json"] = json.dumps(
        {"title": title, "answer": plain(answer),
         "headline": {"answers": head.answers, "notes": head.notes,
                      "rows": head.rows.rows if head.rows else []},
         "frontiers": [plain(p) for p in chart.panels],
         **{name: frame_json(frame) for name, frame in frames.items()},
         "lag_summary": tables.lag_summary,
         "lag_estimates": {source: frame_json(est["summary"])
                           for source, est in tables.lag_estimates.items()},
         "claims": claims, "skipped": skipped_lines(skipped)},
        indent=1, ensure_ascii=False, default=str) + "\n"
    shown_head = replace(head, answer=answer) if answer is not None else head
    files["index.html"] = page(title, shown_head, shown,
                               (*FRONTIERS, chart.alt, chart.sources), FIGURES, chart.panels,
                               skipped)
    for name, text in files.items():
        write_atomic(out_dir / name, text)
    return [out_dir / name for name in files] + [out_dir / src for src in FRONTIERS] + [
        out_dir / src for src, _ in FIGURES] + lags
