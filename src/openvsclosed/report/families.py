"""The headline's family table: per task family, the like-with-like pair that decides it.

A mixed "best way" row (the two sides under different protocols) never counts as a lead: it
stays in the gap table, flagged, and the family table names its like-with-like row instead.
Kept apart from the headline's sentences (report/headline.py) so each stays one job; also the
table of published cells left out of the comparison, by rule.
"""

from __future__ import annotations

import pandas as pd

from openvsclosed.report.leads import TIE_POINTS, TIER_WORDS
from openvsclosed.report.protocol import family_of
from openvsclosed.report.render import DisplayTable, fmt_num, missing


def _mixed(rows: pd.DataFrame) -> pd.Series:
    return rows["protocol"].astype(str).str.startswith("mixed")


def pick_rows(rows: pd.DataFrame, per_family: bool) -> pd.DataFrame:
    """Like-with-like rows with both sides, one per task (or per family: the newest releases).

    A mixed "best way" row (the two sides under different protocols) never counts as a lead:
    it stays in the gap table, flagged.
    """
    both = rows[rows["gap"].notna() & ~_mixed(rows)].copy()
    if not both.empty:
        both["newest"] = both[["open_released", "closed_released"]].max(axis=1)
        both = both.sort_values(["task", "newest", "closed_score"],
                                ascending=[True, False, False]).drop_duplicates("task")
    if both.empty or not per_family:
        return both
    both["family"] = both["task"].map(family_of)
    both = both.sort_values(["family", "newest", "task"], ascending=[True, False, True])
    return both.drop_duplicates("family")


def _like_with_like(gap: pd.DataFrame, row: pd.Series) -> pd.Series | None:
    """The like-with-like row of a mixed comparison (newest releases first), if any."""
    same = gap[(gap["task"] == row["task"]) & (gap["source"] == row["source"])
               & (gap["comparison"] == "like with like") & gap["gap"].notna()]
    if same.empty:
        return None
    newest = same[["open_released", "closed_released"]].max(axis=1)
    return same.loc[newest.sort_values(ascending=False, kind="stable").index[0]]


def _side(label: object, released: object, score: object) -> str:
    when = "" if missing(released) else f" ({released})"
    return f"{label}{when}: {fmt_num(score)}"


def _gap_text(row: pd.Series) -> str:
    text = f"{row['gap']:+.1f}"
    if not missing(row.get("ci_low")):
        text += f" [{row['ci_low']:+.1f}, {row['ci_high']:+.1f}]"
    return text


def _comparison(gap: pd.DataFrame, row: pd.Series) -> str:
    """Like with like, or best way (⚠ mixed) with the like-with-like gap where there is one."""
    way = "" if missing(row["protocol"]) else str(row["protocol"])
    if not way.startswith("mixed"):
        return "like with like" + (f" ({way})" if way else "")
    text = f"best way, ⚠ {way}"
    like = _like_with_like(gap, row)
    if like is not None:
        text += (f"; like with like ({like['protocol']}): {like['gap']:+.1f}, "
                 f"{like['best_open']} vs {like['best_closed']}")
    return text


def family_rows(gap: pd.DataFrame, sources: list[str],
                leads: list | None = None) -> DisplayTable:
    """Per source and task family: the like-with-like pair that decides it (gap, comparison).

    Published and independent sources show the answer's pair per family (its tier and
    series); measured and imported ones their like-with-like row per task.
    """
    header = ["Source", "Task", "Best open (released): score", "Best closed (released): score",
              "Gap", "Comparison"]
    rows, classes = [], []
    for source in sources:
        if source in ("reported", "independent"):
            for f in [f for f in leads or [] if f.source == source]:
                rows.append([source, f.family, f"{f.open_model}: {fmt_num(f.open_score)}",
                             f"{f.closed_model}: {fmt_num(f.closed_score)}",
                             f"{f.gap:+.1f}" + (" (tie)" if f.leader == "tie" else ""),
                             f"like with like, {TIER_WORDS.get(f.tier, f.tier)} "
                             f"({f.protocol}), pair of {f.date}"])
                classes.append([f.leader, source])
            continue
        for _, r in pick_rows(gap[gap["source"] == source], per_family=False).iterrows():
            rows.append([source, r["task"],
                         _side(r["best_open"], r["open_released"], r["open_score"]),
                         _side(r["best_closed"], r["closed_released"], r["closed_score"]),
                         _gap_text(r), _comparison(gap, r)])
            classes.append([str(r["leader"]), source])
    note = ("Gap = best closed − best open, in points (positive: closed leads), with its 95% "
            "interval where measured. Only like-with-like pairs (every protocol field equal: "
            "benchmark and version, shots, prompting, reasoning on/off, tools, scaffold, metric, "
            "who ran it) decide a lead; published families use the strongest pair there is "
            "(independent, then one source table, then two makers' tables), the newest. "
            f"A published gap under {TIE_POINTS:g} point is a tie. Mixed comparisons stay in "
            "the gap table, flagged ⚠, never counted.")
    return DisplayTable("families", "Best open vs best closed per task family, like with like",
                        header, rows, note, classes)


def exclusion_rows(exclusions: pd.DataFrame) -> DisplayTable:
    """Published cells left out of the comparison: rule, count, examples."""
    rows = [[r["rule"], str(r["cells"]), r["examples"]] for _, r in exclusions.iterrows()]
    note = ("Every cell of every source table (data/sources/*.yaml) reaches the comparison or "
            "is counted here under a stated rule (tests/test_sources.py checks it).")
    return DisplayTable("exclusions", "Published cells left out, by rule",
                        ["Rule", "Cells", "Examples"], rows, note)


__all__ = ["exclusion_rows", "family_rows", "pick_rows"]
