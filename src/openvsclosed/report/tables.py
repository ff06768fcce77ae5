"""Pure pandas: the result frame -> the leaderboard and the per-task open-vs-closed gap.

Scores leave here in points (0-100) so every renderer shows the same numbers.
"""

from __future__ import annotations

import math

import pandas as pd

LEADERBOARD_COLUMNS = ["model", "label", "access", "organization", "task", "metric", "score",
                       "stderr", "n"]
GAP_COLUMNS = ["task", "metric", "best_open", "open_score", "open_stderr", "open_n",
               "best_closed", "closed_score", "closed_stderr", "closed_n", "gap", "gap_stderr",
               "leader"]


def latest_results(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per model and task: the most recently finished, when a store holds several."""
    if frame.empty:
        return frame
    ordered = frame.sort_values(["model", "task", "finished_at"], kind="stable")
    return ordered.drop_duplicates(["model", "task"], keep="last").reset_index(drop=True)


def leaderboard(results: pd.DataFrame) -> pd.DataFrame:
    """Long format: one row per model and task, score and stderr in points."""
    if results.empty:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    board = results[LEADERBOARD_COLUMNS].copy()
    board["score"] = board["score"] * 100
    board["stderr"] = board["stderr"] * 100
    return board.sort_values(["task", "score", "model"], ascending=[True, False, True],
                             kind="stable").reset_index(drop=True)


def gap_by_task(results: pd.DataFrame) -> pd.DataFrame:
    """Per task: best open vs best closed model, gap = closed - open in points with its stderr.

    The stderr of the gap treats the two scores as independent (different models, and in
    general different documents); paired statistics over shared documents are sharper.
    """
    rows = []
    scored = results.dropna(subset=["score"]) if not results.empty else results
    for task in sorted(scored["task"].unique()) if not scored.empty else []:
        on_task = scored[scored["task"] == task]
        row: dict[str, object] = {"task": task, "metric": on_task["metric"].iloc[0]}
        for side in ("open", "closed"):
            group = on_task[on_task["access"] == side].sort_values(
                ["score", "model"], ascending=[False, True], kind="stable")
            best = group.iloc[0] if not group.empty else None
            row[f"best_{side}"] = best["label"] if best is not None else None
            row[f"{side}_score"] = best["score"] * 100 if best is not None else None
            row[f"{side}_stderr"] = _points(best["stderr"]) if best is not None else None
            row[f"{side}_n"] = int(best["n"]) if best is not None else None
        row.update(_gap(row))
        rows.append(row)
    gap = pd.DataFrame(rows, columns=GAP_COLUMNS)
    return gap.astype({"open_n": "Int64", "closed_n": "Int64"})


def _points(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value) * 100


def _gap(row: dict[str, object]) -> dict[str, object]:
    open_score, closed_score = row["open_score"], row["closed_score"]
    if open_score is None or closed_score is None:
        return {"gap": None, "gap_stderr": None, "leader": None}
    gap = float(closed_score) - float(open_score)
    errs = (row["open_stderr"], row["closed_stderr"])
    gap_se = math.hypot(*errs) if all(e is not None for e in errs) else None
    leader = "closed" if gap > 0 else "open" if gap < 0 else "tie"
    return {"gap": gap, "gap_stderr": gap_se, "leader": leader}
