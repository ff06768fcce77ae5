"""The report in the terminal (rich tables), mirroring the Markdown files."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from openvsclosed.report.render import fmt_score, fmt_text, fmt_with_n


def print_report(console: Console, board: pd.DataFrame, gap: pd.DataFrame) -> None:
    """Leaderboard, then the gap table."""
    if board.empty:
        console.print("No results in this directory yet: run `openvsclosed run CONFIG` first.")
        return
    tasks = sorted(board["task"].unique())
    table = Table(title="Leaderboard (points ± stderr)")
    table.add_column("Model")
    table.add_column("Access")
    for task in tasks:
        table.add_column(task, justify="right")
    for _, rows in board.groupby("model", sort=True):
        by_task = rows.set_index("task")
        cells = [fmt_score(by_task.at[t, "score"], by_task.at[t, "stderr"]) if t in by_task.index
                 else "—" for t in tasks]
        table.add_row(rows["label"].iloc[0], rows["access"].iloc[0], *cells)
    console.print(table)
    gaps = Table(title="Open vs closed: gap = best closed - best open (points)")
    for col in ("Task", "Best open", "Score", "Best closed", "Score", "Gap", "Leader"):
        gaps.add_column(col)
    for _, r in gap.iterrows():
        gaps.add_row(r["task"], fmt_text(r["best_open"]),
                     fmt_with_n(r["open_score"], r["open_stderr"], r["open_n"]),
                     fmt_text(r["best_closed"]),
                     fmt_with_n(r["closed_score"], r["closed_stderr"], r["closed_n"]),
                     fmt_score(r["gap"], r["gap_stderr"]), fmt_text(r["leader"], "not measured"))
    console.print(gaps)
