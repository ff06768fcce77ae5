"""The report in the terminal (rich tables), from the same display rows as the files."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from openvsclosed.report.render import DisplayTable, claims_rows, gap_rows, leaderboard_rows

STYLES = {"open": "green", "closed": "red", "supported": "green", "contradicted": "red"}


def rich_table(table: DisplayTable) -> Table:
    """A rich Table of display rows, rows coloured by their first class."""
    out = Table(title=table.title, title_justify="left")
    for name in table.header:
        out.add_column(name, overflow="fold")
    for i, row in enumerate(table.rows):
        marks = table.classes[i] if i < len(table.classes) else []
        style = next((STYLES[m] for m in marks if m in STYLES), None)
        italic = "italic" if "reported" in marks else ""
        out.add_row(*row, style=" ".join(filter(None, [style, italic])) or None)
    return out


def print_report(console: Console, tables) -> None:  # noqa: ANN001  (ReportTables)
    """Leaderboard, gap and the claims' verdicts; the files hold the rest."""
    if tables.results.empty:
        console.print("No results yet: run `openvsclosed run CONFIG` first.")
        return
    for table in (leaderboard_rows(tables.leaderboard), gap_rows(tables.gap)):
        console.print(rich_table(table))
    if tables.claims:
        console.print(rich_table(claims_rows(tables.claims)))
    console.print(tables.intro)
