"""How many months the open frontier trails the closed one: Epoch AI's 2024 record method.

Reproduces the discrete catch-up times of Epoch's "How Far Behind Are Open Models?"
(2024-11-04; code: github.com/epoch-research/open-model-trends, benchmark_analysis.ipynb).
The rules, each a choice that moves the result, and why (the README states them too):

1. Scores are compared as error-rate nats, -ln(1 - accuracy), Epoch's scale: equal steps mean
   equal relative cuts in the error rate, so 86 -> 87% counts like 60 -> 63%.
2. The tolerance is 0.02 nats (about 0.3 points at 86%, 1.2 at 40%): an open model that close
   *below* a record counts as reaching it. Why: that is about one standard error of a score on
   MMLU's 14k questions, and smaller than the spread between published prompts. `tolerance=0`
   is the strict rule (the open score must be at least the record).
3. A closed state of the art must beat the previous closed record by more than the same
   tolerance: two closed scores within noise of each other are one level, not two records.
4. Only open models released after a record can catch up with it; a record that an open model
   released on or before its date already reached is not a lead at all and is skipped.
5. A record at or below the open model that caught up with an earlier record (plus the
   tolerance) is skipped: one open release closes one lag, counted against the oldest record it
   reached (Epoch's rule; otherwise Llama 3.1 405B would be counted three times on MMLU).
6. A record no open model has reached is censored at the data's stated date: its lag is at
   least that long. It is shown, marked censored, and never averaged in (Epoch drops them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 365.25 / 12
EPOCH_PUBLISHED = pd.Timestamp("2024-11-04")
"""The date of Epoch's analysis: states of the art unreached by then are censored there."""
EPOCH_TOLERANCE = 0.02
"""Epoch's `benchmark_noise_tolerance`, in error-rate nats (rule 2)."""
LAG_COLUMNS = ["benchmark", "closed_model", "closed_date", "closed_score", "open_model",
               "open_date", "open_score", "lag_months", "censored"]


@dataclass(frozen=True)
class LagRules:
    """The knobs of the record method (module docstring: why each default)."""

    tolerance: float = EPOCH_TOLERANCE
    """Nats below a record that still count as reaching it (rule 2); 0 is strict."""
    min_gain: float = EPOCH_TOLERANCE
    """Nats a closed score must add to the previous closed record to be a new one (rule 3)."""


def to_nats(scores: pd.Series | np.ndarray) -> np.ndarray:
    """Error-rate nats -ln(1 - score) for accuracies in [0, 1]; other scales pass unchanged."""
    values = np.asarray(scores, dtype=float)
    finite = values[~np.isnan(values)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        return values
    return -np.log1p(-np.clip(values, 0.0, 1 - 1e-6))


def months_between(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Calendar months from `start` to `end` (negative if `end` comes first)."""
    return (pd.Timestamp(end) - pd.Timestamp(start)).days / DAYS_PER_MONTH


def frontier(points: pd.DataFrame, min_gain: float = 0.0, column: str = "score") -> pd.DataFrame:
    """The rows that set a new best, in release order; a tie on a date keeps the best one.

    `min_gain` (in the units of `column`) is how much a row must add to the previous best.
    """
    ordered = points.dropna(subset=[column, "date"]).sort_values(["date", column],
                                                                 ascending=[True, False])
    best, keep = -math.inf, []
    for idx, score in zip(ordered.index, ordered[column], strict=True):
        if score > best + (min_gain if keep else 0.0):
            best = score
            keep.append(idx)
    return ordered.loc[keep]


def _dated(points: pd.DataFrame) -> pd.DataFrame:
    out = points.dropna(subset=["score", "date"]).assign(date=lambda d: pd.to_datetime(d["date"]))
    return out.assign(nats=to_nats(out["score"]))


def lag_table(points: pd.DataFrame, tolerance: float = EPOCH_TOLERANCE,
              cutoff: pd.Timestamp | None = None, min_gain: float | None = None) -> pd.DataFrame:
    """One row per closed state of the art that led the open side: who caught up, and when.

    `points` has columns benchmark, model, access, date, score (accuracies as fractions; other
    scales are compared as they are). `cutoff` is the date unreached records are censored at
    (default: the last date in the data).
    """
    rules = LagRules(tolerance, tolerance if min_gain is None else min_gain)
    points = _dated(points)
    cutoff = pd.Timestamp(cutoff) if cutoff is not None else points["date"].max()
    rows: list[dict] = []
    for bench, on_bench in points.groupby("benchmark", sort=True):
        rows.extend(_bench_lags(str(bench), on_bench, rules, cutoff))
    return pd.DataFrame(rows, columns=LAG_COLUMNS)


def _days(dates: pd.Series) -> np.ndarray:
    """Dates as float days since 1970 (numpy-friendly; differences are what matter)."""
    return pd.to_datetime(dates).to_numpy().astype("datetime64[D]").astype(float)


def record_lags(days: np.ndarray, nats: np.ndarray, is_open: np.ndarray, rules: LagRules,
                cutoff: float) -> list[tuple[int, int, float]]:
    """The record method on one benchmark's arrays: (closed row, open row or -1, months).

    Numpy only, because the bootstrap calls it hundreds of times; rules 3-6 of the module.
    """
    closed, opens = np.flatnonzero(~is_open), np.flatnonzero(is_open)
    closed = closed[np.lexsort((-nats[closed], days[closed]))]
    opens = opens[np.lexsort((-nats[opens], days[opens]))]
    out: list[tuple[int, int, float]] = []
    best = winner = -math.inf
    for i in closed:
        if nats[i] <= best + (rules.min_gain if best > -math.inf else 0.0):
            continue  # not a new closed record (rule 3)
        best = nats[i]
        level = nats[i] - rules.tolerance
        if nats[i] <= winner + rules.tolerance:
            continue  # reached by the open model that closed an earlier lag (rule 5)
        if (nats[opens[days[opens] <= days[i]]] >= level).any():
            continue  # the open side was already there (rule 4)
        later = opens[(days[opens] > days[i]) & (nats[opens] >= level)]
        if later.size:
            winner = nats[later[0]]
            out.append((int(i), int(later[0]), (days[later[0]] - days[i]) / DAYS_PER_MONTH))
        else:
            out.append((int(i), -1, max((cutoff - days[i]) / DAYS_PER_MONTH, 0.0)))
    return out


def _bench_lags(bench: str, on_bench: pd.DataFrame, rules: LagRules,
                cutoff: pd.Timestamp) -> list[dict]:
    rows = on_bench.reset_index(drop=True)
    found = record_lags(_days(rows["date"]), rows["nats"].to_numpy(),
                        (rows["access"] == "open").to_numpy(), rules,
                        float(_days(pd.Series([cutoff]))[0]))
    out = []
    for i, j, months in found:
        rec = rows.iloc[i]
        row = {"benchmark": bench, "closed_model": rec["model"],
               "closed_date": rec["date"].date(), "closed_score": rec["score"],
               "open_model": None, "open_date": None, "open_score": None,
               "lag_months": months, "censored": j < 0}
        if j >= 0:
            row.update(open_model=rows.iloc[j]["model"], open_date=rows.iloc[j]["date"].date(),
                       open_score=rows.iloc[j]["score"])
        out.append(row)
    return out


def lag_summary(lags: pd.DataFrame) -> dict[str, float | int | None]:
    """Pooled mean and median lag over reached states of the art, plus the censored count."""
    done = lags[~lags["censored"].astype(bool)]["lag_months"] if not lags.empty else lags
    return {
        "mean_months": float(done.mean()) if len(done) else None,
        "median_months": float(done.median()) if len(done) else None,
        "reached": int(len(done)),
        "not_yet_reached": int(lags["censored"].astype(bool).sum()) if not lags.empty else 0,
    }


def results_points(results: pd.DataFrame) -> pd.DataFrame:
    """Report rows (measured, imported, reported) as points, dated by each model's release."""
    rows = results.dropna(subset=["score", "released"])
    stderr = rows["stderr"] if "stderr" in rows else pd.Series(np.nan, index=rows.index)
    return pd.DataFrame({"benchmark": rows["task"], "model": rows["label"],
                         "access": rows["access"], "date": rows["released"],
                         "score": rows["score"], "stderr": pd.to_numeric(stderr, errors="coerce"),
                         "source": rows["source"]}).reset_index(drop=True)
