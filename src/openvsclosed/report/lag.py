"""How many months the open frontier trails the closed one (Epoch AI's method).

Per benchmark and group (open, closed), the frontier is the running maximum over release date.
For each new closed state of the art, the lag is the time until the first open model scores at
least that score minus a tolerance (0.02 in Epoch's "How Far Behind Are Open Models?",
2024-11-04). A state of the art no open model has reached yet is *censored*: its lag is at
least the time to the data's cutoff, shown separately and never averaged in.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

DAYS_PER_MONTH = 365.25 / 12
EPOCH_PUBLISHED = pd.Timestamp("2024-11-04")
"""The date of Epoch's analysis: states of the art unreached by then are censored there."""
LAG_COLUMNS = ["benchmark", "closed_model", "closed_date", "closed_score", "open_model",
               "open_date", "open_score", "lag_months", "censored"]


def frontier(points: pd.DataFrame) -> pd.DataFrame:
    """The rows that set a new best score, in release order (columns: model, date, score)."""
    ordered = points.dropna(subset=["score", "date"]).sort_values(["date", "score"],
                                                                   ascending=[True, False])
    best, keep = -math.inf, []
    for idx, score in zip(ordered.index, ordered["score"], strict=False):
        if score > best:
            best = score
            keep.append(idx)
    return ordered.loc[keep]


def lag_table(points: pd.DataFrame, tolerance: float = 0.02,
              cutoff: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per closed state of the art: who reached it in the open, and how many months later.

    `points` has columns benchmark, model, access, date, score (scores on one scale per
    benchmark; the tolerance is in that scale).
    """
    points = points.assign(date=pd.to_datetime(points["date"]))
    cutoff = cutoff if cutoff is not None else points["date"].max()
    rows = []
    for bench, on_bench in points.groupby("benchmark", sort=True):
        opens = on_bench[on_bench["access"] == "open"].dropna(subset=["score", "date"])
        for _, sota in frontier(on_bench[on_bench["access"] == "closed"]).iterrows():
            reached = opens[opens["score"] >= sota["score"] - tolerance].sort_values("date")
            row = {"benchmark": bench, "closed_model": sota["model"],
                   "closed_date": sota["date"].date(), "closed_score": sota["score"]}
            if reached.empty:
                months = (cutoff - sota["date"]).days / DAYS_PER_MONTH
                row.update(open_model=None, open_date=None, open_score=None,
                           lag_months=max(months, 0.0), censored=True)
            else:
                first = reached.iloc[0]
                months = (first["date"] - sota["date"]).days / DAYS_PER_MONTH
                row.update(open_model=first["model"], open_date=first["date"].date(),
                           open_score=first["score"], lag_months=max(months, 0.0),
                           censored=False)
            rows.append(row)
    return pd.DataFrame(rows, columns=LAG_COLUMNS)


def lag_summary(lags: pd.DataFrame) -> dict[str, float | int | None]:
    """Pooled mean and median lag over uncensored states of the art, plus the censored count."""
    done = lags[~lags["censored"].astype(bool)]["lag_months"] if not lags.empty else lags
    return {
        "mean_months": float(done.mean()) if len(done) else None,
        "median_months": float(done.median()) if len(done) else None,
        "reached": int(len(done)),
        "not_yet_reached": int(lags["censored"].astype(bool).sum()) if not lags.empty else 0,
    }


def epoch_points(path: Path, benchmarks: tuple[str, ...] = ("BBH", "GPQA", "MMLU"),
                 trusted_only: bool = False) -> pd.DataFrame:
    """Epoch's data file as points (scores are fractions 0-1, as in their file)."""
    raw = pd.read_csv(path)
    if trusted_only:
        raw = raw[raw["Trust in benchmark results"] != 1]
    frames = [
        pd.DataFrame({"benchmark": bench, "model": raw["System"],
                      "access": raw["Open/Closed"].str.lower(), "date": raw["Date"],
                      "score": pd.to_numeric(raw[bench], errors="coerce")})
        for bench in benchmarks
    ]
    return pd.concat(frames, ignore_index=True).dropna(subset=["score"])


def results_points(results: pd.DataFrame) -> pd.DataFrame:
    """Report rows (measured and reported) as points, dated by each model's release."""
    rows = results.dropna(subset=["score", "released"])
    return pd.DataFrame({"benchmark": rows["task"], "model": rows["label"],
                         "access": rows["access"], "date": rows["released"],
                         "score": rows["score"], "source": rows["source"]}).reset_index(drop=True)
