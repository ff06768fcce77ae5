"""The report in the terminal: the answer first, then compact tables that fit 100 columns.

Cells come from the same display rows as the files; the terminal shows fewer columns (the
files have them all) so nothing wraps mid-word in an ordinary terminal.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from openvsclosed.console import say
from openvsclosed.report.board import leaderboard_rows
from openvsclosed.report.render import DisplayTable, claims_rows, gap_rows

STYLES = {"open": "green", "closed": "red", "supported": "green", "contradicted": "red"}
CELL_CLASSES = {"then-": "As of its date", "now-": "Today"}
"""Row classes that colour one cell, by its own verdict (claims: then and today), not the row."""


def rich_table(table: DisplayTable, columns: list[str] | None = None,
               rename: dict[str, str] | None = None) -> Table:
    """A rich Table of display rows (only `columns`, renamed), rows coloured by class.

    A `then-…`/`now-…` class colours only its own cell (CELL_CLASSES): a claim's verdict as
    of its date once took the colour of today's. Cells are plain text, never rich markup.
    """
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
        italic = "italic" if {"reported", "independent"} & set(marks) else ""
        cell_style = {CELL_CLASSES[p]: STYLES.get(m[len(p):], "")
                      for m in marks for p in CELL_CLASSES if m.startswith(p)}
        out.add_row(*(Text(str(row[i]), style=cell_style.get(table.header[i], ""))
                      for i in keep),
                    style=" ".join(filter(None, [style, italic])) or None)
    return out


def print_headline(console: Console, head) -> None:
    """The answer at a glance: a paragraph per source, the notes to act on, the families."""
    console.rule("The answer at a glance", style="bold")
    if getattr(head, "answer", None) is not None:
        console.print(head.answer.sentence, style="bold", highlight=False, markup=False)
        console.print(head.answer.sureness, style="italic", highlight=False, markup=False)
        console.print()
    for answer in head.answers:
        console.print(answer, highlight=False, markup=False)
        console.print()
    for note in head.notes:
        say(console, ("Note:", "yellow"), f" {note}")
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


def print_report(console: Console, tables) -> None:
    """Warnings, the headline, measured scores, the gap per task and the claims' verdicts."""
    for warning in tables.warnings:
        say(console, ("warning:", "yellow"), f" {warning}")
    print_failed(console, tables.failed)
    if tables.headline is not None:
        print_headline(console, tables.headline)
    if tables.results.empty:
        if tables.failed:
            console.print("Every job so far failed (above).")
        return
    published = ("reported", "independent")  # in the files: too wide for a terminal
    own = tables.leaderboard[~tables.leaderboard["source"].isin(published)]
    if len(own):
        console.print(rich_table(leaderboard_rows(own)))
    gap = tables.gap[~tables.gap["source"].isin(published)]
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
    say(console, (f"{len(failed)} job(s) failed and have no result", "red"),
        " (failures.jsonl; re-run the config to retry them):")
    for f in failed[:20]:  # a server's words and task names, printed as they are
        say(console, f"  {f.model_id} × {f.task}: {f.error_type}: {f.message[:160]}")
    if len(failed) > 20:
        console.print(f"  … and {len(failed) - 20} more", highlight=False)
