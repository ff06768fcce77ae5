"""The leaderboard as display rows: one row per model and source, one column per task family.

Each cell says its score, its task where the family has several, its shots and method, and for
a measured result the share of replies with no answer, truncated or refused, marked "⚠ invalid"
where report/validity.py says the score measures the reply format, not the model. Kept apart
from the other tables (report/render.py) so each module stays one job.
"""

from __future__ import annotations

import pandas as pd

from openvsclosed.report.protocol import FAMILIES, family_of
from openvsclosed.report.render import (
    MISSING,
    PUBLISHED,
    SOURCE_ORDER,
    DisplayTable,
    fmt_score,
    fmt_text,
    missing,
)


def how(row: pd.Series) -> str:
    """Shots and method of one score: `5-shot letter choice`, `0-shot native, acc_norm`."""
    if row.get("source") in PUBLISHED:
        way = fmt_text(row.get("protocol"), "")
        return way if way else "?-shot"
    shots = "?" if missing(row.get("num_fewshot")) else str(int(row["num_fewshot"]))
    metric = str(row.get("metric") or "").split(",")[0]
    way = fmt_text(row.get("protocol"), "")
    return f"{shots}-shot" + (f" {way}" if way else "") + (f", {metric}" if metric else "")


def task_columns(tasks: list[str]) -> dict[str, list[str]]:
    """Leaderboard columns: one per task family (protocol.FAMILIES), in the families' order.

    Published data spread one family over several tasks (MATH, MATH-500, minerva_math…);
    one column per task left most cells empty. A family with one task keeps the task's name.
    """
    order = {name: i for i, (name, _) in enumerate(FAMILIES)}
    groups: dict[str, list[str]] = {}
    for task in sorted(tasks):
        groups.setdefault(family_of(task), []).append(task)
    columns = {}
    for family in sorted(groups, key=lambda f: (order.get(f, len(order)), f)):
        members = groups[family]
        columns[family if len(members) > 1 else members[0]] = members
    return columns


def fmt_rates(row: pd.Series) -> str:
    """`no answer 5%, truncated 0%, refused 0%` where the counts are known, else ''.

    All three zero reads `0% no answer/truncated/refused`: the common case stays short.
    """
    rates = [row.get(f"{k}_rate") for k in ("no_answer", "truncated", "refused")]
    if all(missing(r) for r in rates):
        return ""
    if all(not missing(r) and float(r) == 0 for r in rates):
        return "0% no answer/truncated/refused"
    return ", ".join(f"{name} {MISSING if missing(r) else f'{float(r):.0%}'}"
                     for name, r in zip(("no answer", "truncated", "refused"), rates,
                                        strict=True))


def fmt_cell(row: pd.Series) -> str:
    """One leaderboard cell: score, shots and method, the reply rates, ⚠ invalid when marked."""
    rates = fmt_rates(row)
    text = f"{fmt_score(row['score'], row['stderr'])} ({how(row)}" + (
        f"; {rates})" if rates else ")")
    valid = row.get("valid")
    return ("⚠ invalid: " + text) if not missing(valid) and not bool(valid) else text


def leaderboard_rows(board: pd.DataFrame) -> DisplayTable:
    """Models as rows, task families as columns; every cell says its task, shots and method.

    Measured cells also say how many replies held no answer, were cut by the token limit or
    were refused (report/validity.py); a result marked invalid says so in its cell, and the
    note says what to fix.
    """
    from openvsclosed.report.validity import NO_ANSWER_LIMIT, invalid_note

    columns = task_columns(list(board["task"].unique())) if not board.empty else {}
    header = ["Model", "Access", "Source", *columns]
    rows, classes = [], []
    note = ("Scores in points (0-100) ± one standard error, each with its shots and method "
            "(measured: native log-likelihoods or chat, and the metric) and, where counted, "
            "the share of replies with no answer, truncated by the token limit, or refused; "
            f"\"⚠ invalid\": more than {NO_ANSWER_LIMIT:.0%} of the replies held no answer, so "
            "the score measures the reply format, not the model (left out of the gap, the lag "
            "and the headline). One column per task family, each cell naming its task where "
            "the family has several. Published rows are their makers' (or an independent "
            "evaluator's) numbers under their own protocols (sources in leaderboard.csv), "
            "never mixed with measured ones.")
    if board.empty:
        return DisplayTable("leaderboard", "Leaderboard", header, rows, note, classes)
    fix = invalid_note(board)
    if fix:
        note += " " + fix
    board = board.assign(way=board["protocol"].astype(object).where(board["protocol"].notna(), "")
                         if "protocol" in board else "")
    entries = board.drop_duplicates(["model", "source", "way"]) if not board.empty else board
    cell_of = {}
    for _, row in board.iterrows():
        cell_of.setdefault((row["model"], row["source"], row["way"], row["task"]), row)
    entries = entries.assign(_order=entries["source"].map(SOURCE_ORDER).fillna(9))
    for _, m in entries.sort_values(["_order", "access", "label", "way"],
                                    kind="stable").iterrows():
        cells = [m["label"], m["access"],
                 m["source"] + (f", {m['way']}" if m["way"] and m["source"] not in PUBLISHED
                                else "")]
        invalid = False
        for members in columns.values():
            found = [(task, cell_of.get((m["model"], m["source"], m["way"], task)))
                     for task in members]
            texts = [(f"{task}: " if len(members) > 1 else "") + fmt_cell(first)
                     for task, first in found if first is not None]
            invalid |= any("⚠ invalid" in t for t in texts)
            cells.append("; ".join(texts) or MISSING)
        rows.append(cells)
        classes.append([m["access"], m["source"], *(["invalid"] if invalid else [])])
    return DisplayTable("leaderboard", "Leaderboard", header, rows, note, classes)


__all__ = ["fmt_cell", "fmt_rates", "how", "leaderboard_rows", "task_columns"]
