"""Pure pandas: result rows -> the leaderboard and the per-task open-vs-closed gap.

Rows carry a `source` (measured, imported, reported). Sources are compared only with
themselves: a published number is never silently averaged with, or set against, a measured one.
Scores leave here in points (0-100) so every renderer shows the same numbers.
"""

from __future__ import annotations

import math

import pandas as pd

from openvsclosed.report.protocol import family_of
from openvsclosed.report.stats import paired_bootstrap, significant, unpaired_ci

LEADERBOARD_COLUMNS = ["model", "label", "access", "source", "organization", "released",
                       "params_b", "task", "metric", "num_fewshot", "score", "stderr", "n",
                       "protocol", "note", "no_answer_rate", "truncated_rate", "refused_rate",
                       "valid", "table", "reasoning"]
GAP_COLUMNS = ["task", "source", "metric", "best_open", "open_score", "open_stderr", "open_n",
               "best_closed", "closed_score", "closed_stderr", "closed_n", "gap", "gap_stderr",
               "ci_low", "ci_high", "paired", "significant", "leader", "protocol", "comparison",
               "open_released", "closed_released", "family", "same_table", "open_table",
               "closed_table"]
SOURCE_ORDER = {"measured": 0, "imported": 1, "independent": 2, "reported": 3}


def latest_results(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per model, task, source, protocol and source table: the most recently finished.

    A model run both ways (`protocol: both`) keeps both rows: its log-likelihood score and its
    chat score are different measurements, and the gap table compares like with like. Published
    numbers keep one row per table they appear in (nothing is picked).
    """
    if frame.empty:
        return frame
    frame = frame.copy()
    if "source" not in frame:
        frame["source"] = "measured"
    if "protocol" not in frame:
        frame["protocol"] = None
    way = frame["protocol"].astype(object).where(frame["protocol"].notna(), "")
    if "table" in frame:
        way = way + " @" + frame["table"].astype(object).where(frame["table"].notna(), "")
    ordered = frame.assign(_way=way).sort_values(
        ["model", "task", "source", "_way", "finished_at"], kind="stable", na_position="first")
    latest = ordered.drop_duplicates(["model", "task", "source", "_way"], keep="last")
    return latest.drop(columns="_way").reset_index(drop=True)


def leaderboard(results: pd.DataFrame) -> pd.DataFrame:
    """Long format: one row per model, task and source, score and stderr in points."""
    if results.empty:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    board = results.reindex(columns=LEADERBOARD_COLUMNS).copy()
    board["score"] = board["score"] * 100
    board["stderr"] = board["stderr"] * 100
    board["n"] = board["n"].astype("Int64")
    board["num_fewshot"] = board["num_fewshot"].astype("Int64")
    board["order"] = board["source"].map(SOURCE_ORDER)
    board = board.sort_values(["task", "order", "score", "model"],
                              ascending=[True, True, False, True], kind="stable")
    return board.drop(columns="order").reset_index(drop=True)


def gap_by_task(results: pd.DataFrame, bootstrap_iters: int = 10_000) -> pd.DataFrame:
    """Per task and source: best open vs best closed, gap = closed - open in points, 95% CI.

    Each task gets its `best way` row (each side's best score under any protocol, marked
    `mixed` when the two ran differently) and, where both sides were scored under the same
    protocol and the best-way row is not already that comparison, a `like with like` row.
    The interval is a paired bootstrap over the documents both models answered when their
    samples overlap, else a normal interval from the two standard errors.
    """
    rows = []
    scored = results.dropna(subset=["score"]) if not results.empty else results
    if "valid" in scored:  # a measurement that did not happen is not a score (report/validity)
        scored = scored[scored["valid"].astype(object).ne(False)]
    keys = scored.groupby(["task", "source"]).size().index if not scored.empty else []
    for task, source in sorted(keys, key=lambda k: (k[0], SOURCE_ORDER.get(k[1], 9))):
        on_task = scored[(scored["task"] == task) & (scored["source"] == source)]
        best_way = _compare(on_task, task, source, bootstrap_iters, "best way")
        rows.append(best_way)
        ways = on_task["protocol"].dropna() if "protocol" in on_task else pd.Series([])
        for way in sorted(set(ways)):
            same = on_task[on_task["protocol"] == way]
            if best_way["protocol"] == way or set(same["access"]) != {"open", "closed"}:
                continue
            rows.append(_compare(same, task, source, bootstrap_iters, "like with like"))
    gap = pd.DataFrame(rows, columns=GAP_COLUMNS)
    return gap.astype({"open_n": "Int64", "closed_n": "Int64"})


def _compare(on_task: pd.DataFrame, task: str, source: str, iters: int,
             comparison: str) -> dict[str, object]:
    """One gap row: the best open and best closed row of `on_task`."""
    row: dict[str, object] = {"task": task, "source": source,
                              "metric": on_task["metric"].iloc[0], "comparison": comparison}
    best = {}
    for side in ("open", "closed"):
        group = on_task[on_task["access"] == side].sort_values(
            ["score", "model"], ascending=[False, True], kind="stable")
        best[side] = group.iloc[0] if not group.empty else None
        top = best[side]
        row[f"best_{side}"] = top["label"] if top is not None else None
        row[f"{side}_score"] = top["score"] * 100 if top is not None else None
        row[f"{side}_stderr"] = _points(top.get("stderr")) if top is not None else None
        row[f"{side}_n"] = _int(top.get("n")) if top is not None else None
        released = top.get("released") if top is not None else None
        row[f"{side}_released"] = _date(released)
    row.update(_gap(row, best["open"], best["closed"], iters))
    row["protocol"] = _protocol(best["open"], best["closed"])
    row["family"] = family_of(task)
    tables = [b.get("same_key") if b is not None else None for b in (best["open"],
                                                                      best["closed"])]
    row["open_table"], row["closed_table"] = (
        b.get("table") if b is not None and isinstance(b.get("table"), str) else None
        for b in (best["open"], best["closed"]))
    row["same_table"] = bool(isinstance(tables[0], str) and tables[0] == tables[1])
    return row


def open_wins(gap: pd.DataFrame, source: str = "measured") -> list[str]:
    """Tasks on which the best open model scores above the best closed one."""
    rows = gap[(gap["source"] == source) & (gap["leader"] == "open")]
    return list(dict.fromkeys(rows["task"].tolist()))


def _protocol(top_open: pd.Series | None, top_closed: pd.Series | None) -> str | None:
    """The shared protocol, or `mixed (open vs closed)` when the two sides ran differently."""
    found = [p.get("protocol") if p is not None else None for p in (top_open, top_closed)]
    found = [p if isinstance(p, str) else None for p in found]
    if found[0] == found[1] or None in found:
        return found[0] or found[1]
    return f"mixed ({found[0]} vs {found[1]})"


def _points(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value) * 100


def _date(value: object) -> str | None:
    """A release date as YYYY-MM-DD text, or None."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)[:10]


def _int(value: object) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _gap(row: dict[str, object], top_open: pd.Series | None, top_closed: pd.Series | None,
         iters: int) -> dict[str, object]:
    empty = {"gap": None, "gap_stderr": None, "ci_low": None, "ci_high": None, "paired": None,
             "significant": None, "leader": None}
    if top_open is None or top_closed is None:
        return empty
    gap = float(row["closed_score"]) - float(row["open_score"])
    se_o, se_c = row["open_stderr"], row["closed_stderr"]
    gap_se = math.hypot(se_o, se_c) if se_o is not None and se_c is not None else None
    interval, paired = unpaired_ci(gap, se_o, se_c), False
    docs_o, docs_c = top_open.get("doc_scores"), top_closed.get("doc_scores")
    if isinstance(docs_o, dict) and isinstance(docs_c, dict):
        shared = sorted(set(docs_o) & set(docs_c))
        if len(shared) >= 2 and len(shared) == len(docs_o) == len(docs_c):
            mean, low, high = paired_bootstrap([docs_o[d] for d in shared],
                                               [docs_c[d] for d in shared], iters)
            interval, paired = (100 * low, 100 * high), True
    leader = "closed" if gap > 0 else "open" if gap < 0 else "tie"
    return {"gap": gap, "gap_stderr": gap_se,
            "ci_low": interval[0] if interval else None,
            "ci_high": interval[1] if interval else None,
            "paired": paired, "significant": significant(interval), "leader": leader}
