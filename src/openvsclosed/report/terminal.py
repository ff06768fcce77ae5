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
    for warning in tables.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    print_failed(console, tables.failed)
    if tables.results.empty:
        console.print("No results yet: run `openvsclosed run CONFIG` first."
                      + (" Every job so far failed (above)." if tables.failed else ""))
        return
    for table in (leaderboard_rows(tables.leaderboard), gap_rows(tables.gap)):
        console.print(rich_table(table))
    if tables.claims:
        console.print(rich_table(claims_rows(tables.claims)))
    console.print(tables.intro)


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
