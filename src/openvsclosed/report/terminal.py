"""The report in the terminal: the answer first, then compact tables that fit 100 columns.

Cells come from the same display rows as the files; the terminal shows fewer columns (the
files have them all) so nothing wraps mid-word in an ordinary terminal.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table

from openvsclosed.report.render import DisplayTable, claims_rows, gap_rows, leaderboard_rows

STYLES = {"open": "green", "closed": "red", "supported": "green", "contradicted": "red"}


def rich_table(table: DisplayTable, columns: list[str] | None = None,
               rename: dict[str, str] | None = None) -> Table:
    """A rich Table of display rows (only `columns`, renamed), rows coloured by class."""
    keep = [i for i, h in enumerate(table.header) if columns is None or h in columns]
    out = Table(title=table.title, title_justify="left", title_style="bold")
    for n, i in enumerate(keep):
        words = [w for row in table.rows for w in str(row[i]).split()]
        longest = max((len(w) for w in words), default=4)
        # the first column (task or model names) keeps its words whole; others wrap at spaces
        out.add_column((rename or {}).get(table.header[i], table.header[i]), overflow="fold",
                       min_width=min(longest, 22) if n == 0 else None)
    for n, row in enumerate(table.rows):
        marks = table.classes[n] if n < len(table.classes) else []
        style = next((STYLES[m] for m in marks if m in STYLES), None)
        italic = "italic" if "reported" in marks else ""
        out.add_row(*(row[i] for i in keep), style=" ".join(filter(None, [style, italic]))
                    or None)
    return out


def print_headline(console: Console, head) -> None:  # noqa: ANN001  (Headline)
    """The answer at a glance: a paragraph per source, the notes to act on, the families."""
    console.rule("[bold]The answer at a glance")
    for answer in head.answers:
        console.print(answer, highlight=False)
        console.print()
    for note in head.notes:
        console.print(f"[yellow]Note:[/yellow] {note}", highlight=False)
        console.print()
    if head.rows is not None and head.rows.rows:
        console.print(rich_table(compact_families(head.rows)))


def compact_families(table: DisplayTable) -> DisplayTable:
    """The family table in five columns: the comparison folded into the gap (⚠ mixed, like)."""
    rows = []
    for row in table.rows:
        gap, how = row[4], row[5]
        if how.startswith("best way"):
            like = re.search(r"like with like \([^)]*\): ([+-][0-9.]+)", how)
            gap += " ⚠ mixed" + (f"; like with like {like.group(1)}" if like else "")
        rows.append([*row[:4], gap])
    note = "⚠ mixed: the two sides ran under different protocols (see headline.md)."
    return DisplayTable(table.name, table.title, [*table.header[:4], "Gap"], rows, note,
                        table.classes)


def print_report(console: Console, tables) -> None:  # noqa: ANN001  (ReportTables)
    """Warnings, the headline, measured scores, the gap per task and the claims' verdicts."""
    for warning in tables.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    print_failed(console, tables.failed)
    if tables.headline is not None:
        print_headline(console, tables.headline)
    if tables.results.empty:
        if tables.failed:
            console.print("Every job so far failed (above).")
        return
    own = tables.leaderboard[tables.leaderboard["source"] != "reported"]
    if len(own):
        console.print(rich_table(leaderboard_rows(own)))
    gap = tables.gap[tables.gap["source"] != "reported"]
    if len(gap):
        columns = ["Task", "Comparison", "Best open (released)", "Best closed (released)",
                   "Gap [95% CI]", "Leader"] + (["Source"] if gap["source"].nunique() > 1
                                                else [])
        console.print(rich_table(gap_rows(gap), columns,
                                 {"Best open (released)": "Best open",
                                  "Best closed (released)": "Best closed", "Gap [95% CI]": "Gap"}))
    if tables.claims:
        console.print(rich_table(claims_rows(tables.claims), ["Claim", "As of its date",
                                                              "Today", "Data"]))
    console.print("Published leaderboard, every gap row with its protocol, lag per estimator "
                  "and cost: in the files listed below.", highlight=False)


def print_failed(console: Console, failed: list) -> None:
    """Jobs whose last attempt failed: a report that hides them overstates its coverage."""
    if not failed:
        return
    console.print(f"[red]{len(failed)} job(s) failed and have no result[/red] (failures.jsonl; "
                  "re-run the config to retry them):", highlight=False)
    for f in failed[:20]:
        console.print(f"  {f.model_id} × {f.task}: {f.error_type}: {f.message[:160]}",
                      highlight=False, soft_wrap=True)
    if len(failed) > 20:
        console.print(f"  … and {len(failed) - 20} more", highlight=False)
