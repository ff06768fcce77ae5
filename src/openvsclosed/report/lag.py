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
   least that long. It is shown, marked censored, and never dropped: the summary is the
   Kaplan-Meier median over reached and censored records together (`km_summary`), because a
   mean of the reached ones only is biased down (the longest lags are the unreached ones).
   When fewer than half the records are reached, the median is not estimable and the summary
   states its lower bound: the median is at least the longest follow-up time.
7. The estimators run within one protocol series (report/protocol.py): `results_points` gives
   each point its `series`, and the report passes the series as the benchmark, so a thinking
   score never closes a non-thinking record and a window of LiveCodeBench never another's.
8. A series is followed only while it is observed: an unreached record is censored at the
   series' last release (at most the data's date), not at the data's date. A maker's table is a
   snapshot: a record in it that no open column beats cannot be reached later in that table, so
   counting the months since would inflate the lag with time nobody measured.
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
KM_NAME = "closed records reached, Kaplan-Meier median"
"""The censoring-aware records estimator as every format names it (rule 6)."""
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
              cutoff: pd.Timestamp | None = None, min_gain: float | None = None,
              series_end: bool = False) -> pd.DataFrame:
    """One row per closed state of the art that led the open side: who caught up, and when.

    `points` has columns benchmark, model, access, date, score (accuracies as fractions; other
    scales are compared as they are). `cutoff` is the date unreached records are censored at
    (default: the last date in the data). With `series_end`, a benchmark (a protocol series)
    is followed only to its own last release (rule 8): nobody measured in it after that.
    """
    rules = LagRules(tolerance, tolerance if min_gain is None else min_gain)
    points = _dated(points)
    cutoff = pd.Timestamp(cutoff) if cutoff is not None else points["date"].max()
    rows: list[dict] = []
    for bench, on_bench in points.groupby("benchmark", sort=True):
        end = min(cutoff, on_bench["date"].max()) if series_end else cutoff
        rows.extend(_bench_lags(str(bench), on_bench, rules, end))
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


def lag_summary(lags: pd.DataFrame, boot: int = 200) -> dict[str, float | int | None]:
    """Reached-only mean and median, the censored count, and the Kaplan-Meier median.

    The reached-only numbers are biased down (shown for comparison); `km_*` is the median over
    all records, censored ones included, with its interval (rule 6).
    """
    done = lags[~lags["censored"].astype(bool)]["lag_months"] if not lags.empty else lags
    km = km_summary(lags, boot=boot)
    return {
        "mean_months": float(done.mean()) if len(done) else None,
        "median_months": float(done.median()) if len(done) else None,
        "reached": int(len(done)),
        "not_yet_reached": int(lags["censored"].astype(bool).sum()) if not lags.empty else 0,
        "km_median": km["median"], "km_ci_low": km["ci_low"], "km_ci_high": km["ci_high"],
        "km_lower_bound": km["lower_bound"], "km_records": km["records"],
        "km_censored": km["censored"],
    }


def kaplan_meier(times: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """The Kaplan-Meier survival curve S(t) = P(lag > t) with Greenwood's variance.

    `times`: months; `events`: True where the record was reached (False: censored there).
    """
    times, events = np.asarray(times, float), np.asarray(events, bool)
    rows, surv, green = [], 1.0, 0.0
    for t in np.unique(times[events]):
        at_risk = int((times >= t).sum())
        died = int(((times == t) & events).sum())
        surv *= 1 - died / at_risk
        green += died / (at_risk * (at_risk - died)) if at_risk > died else np.inf
        rows.append({"months": float(t), "at_risk": at_risk, "reached": died,
                     "survival": surv, "se": surv * math.sqrt(green)})
    return pd.DataFrame(rows, columns=["months", "at_risk", "reached", "survival", "se"])


def km_median(times: np.ndarray, events: np.ndarray) -> float:
    """Smallest t with S(t) <= 0.5; +inf when fewer than half the records are reached."""
    curve = kaplan_meier(times, events)
    below = curve[curve["survival"] <= 0.5 + 1e-12]
    return float(below["months"].iloc[0]) if len(below) else math.inf


def km_summary(lags: pd.DataFrame, boot: int = 500, seed: int = 0) -> dict[str, object]:
    """Kaplan-Meier median lag over reached and censored records, 95% bootstrap interval.

    A censored record with no follow-up (its series has no later release) is left out: it was
    never observed at risk. The interval resamples records with replacement (percentile
    method); a bound that is not
    estimable (a resample with under half reached) is +inf, printed as "or more". `lower_bound`
    is the longest follow-up time when the median itself is not estimable.
    """
    empty = {"median": None, "ci_low": None, "ci_high": None, "lower_bound": None,
             "records": 0, "censored": 0}
    if not lags.empty:  # no follow-up at all (the series ends on the record's date): unseen
        lags = lags[~(lags["censored"].astype(bool) & (lags["lag_months"] <= 0))]
    if lags.empty:
        return empty
    times = lags["lag_months"].to_numpy(float)
    events = ~lags["censored"].astype(bool).to_numpy()
    median = km_median(times, events)
    rng = np.random.default_rng(seed)
    draws = np.sort([km_median(times[idx], events[idx])
                     for idx in rng.integers(0, len(times), (boot, len(times)))]) if boot else []
    low = float(draws[int(0.025 * (len(draws) - 1))]) if len(draws) else None
    high = float(draws[int(math.ceil(0.975 * (len(draws) - 1)))]) if len(draws) else None
    return {"median": None if math.isinf(median) else median, "ci_low": low, "ci_high": high,
            "lower_bound": float(times.max()) if math.isinf(median) else None,
            "records": int(len(times)), "censored": int((~events).sum())}


def results_points(results: pd.DataFrame) -> pd.DataFrame:
    """Report rows (measured, imported, reported) as points, dated by each model's release.

    `series` is the protocol series a point belongs to (the lag runs within one); `family`
    its task family.
    """
    from openvsclosed.report.protocol import family_of

    rows = results.dropna(subset=["score", "released"])
    if "valid" in rows:
        rows = rows[rows["valid"].astype(object).ne(False)]
    stderr = rows["stderr"] if "stderr" in rows else pd.Series(np.nan, index=rows.index)
    return pd.DataFrame({"benchmark": rows["task"], "model": rows["label"],
                         "access": rows["access"], "date": rows["released"],
                         "score": rows["score"], "stderr": pd.to_numeric(stderr, errors="coerce"),
                         "source": rows["source"],
                         "family": rows["task"].map(family_of),
                         **series_keys(rows)}).reset_index(drop=True)


def series_keys(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """Each row's two series keys, built once here for the answer and the chart alike.

    `series`: its protocol series (`series_of`); `same_series`: its source-table row
    (published rows only, else None). The answer's pairs group by them (report/leads.py) and
    the points carry them (`results_points`), so the frontier panel of a family finds the
    series its lead was decided in by equality (`key_field` says which column).
    """
    same = (rows["same_series"].astype(object) if "same_series" in rows
            else pd.Series(None, index=rows.index, dtype=object))
    return {"series": pd.Series([series_of(r) for _, r in rows.iterrows()], index=rows.index,
                                dtype=object),
            "same_series": same.where(same.notna(), None)}


def key_field(tier: str) -> str:
    """The series key a pair of this tier was grouped by: one table row for `same table`."""
    return "same_series" if tier == "same table" else "series"


def series_of(row: pd.Series) -> str:
    """A result row's protocol series: its `series` (published), else task, shots and protocol."""
    series = row.get("series")
    if isinstance(series, str) and series:
        return series
    shots = row.get("num_fewshot")
    n = "?" if shots is None or pd.isna(shots) else str(int(shots))
    way = row.get("protocol") if isinstance(row.get("protocol"), str) else "native"
    return f"{row['task']} · {n}-shot · {way}"
