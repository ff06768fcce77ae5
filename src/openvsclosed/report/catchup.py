"""Three estimators of the open side's lag, each with a bootstrap interval over models.

- `records`: Epoch's 2024 method (report/lag.py): months until an open model reaches each
  closed state of the art.
- `distance`: the horizontal distance between the two frontiers (Epoch's 2025 capabilities-
  index reading): at each month, how long ago the closed frontier was where the open frontier
  is now; 0 ("caught up") when the difference is not significant: within 1.96 standard errors
  where both frontier scores have one (measured), else within the tolerance in nats. Headline:
  its mean over the last `window` months before the as-of date, over the benchmarks where both
  sides released a scored model in that window.
- `thresholds`: threshold crossing (the 2026 study): for score thresholds every 5 points, the
  months between the closed and the open frontier first crossing each. A threshold counts only
  where both sides' first score lies below it (else its crossing date is not observed).

Lags not yet closed are censored at the as-of date: shown with ">=", never averaged in. The
records estimator also has a censoring-aware summary, `records_km`: the Kaplan-Meier median
over reached and censored records together (report/lag.py rule 6), with a bootstrap interval
over records and, when under half are reached, a stated lower bound. The other intervals
resample models with replacement (a model is the unit: its rows on every benchmark
come along) and recomputes each headline; 95% percentile interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from openvsclosed.report.lag import (
    DAYS_PER_MONTH,
    EPOCH_TOLERANCE,
    LagRules,
    _days,
    km_summary,
    lag_table,
    record_lags,
    to_nats,
)

THRESHOLD_STEP = 0.05
ESTIMATORS = ("records", "distance", "thresholds")


def _arrays(points: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Per benchmark: days, nats, accuracy, stderr, is_open (rows with a date and a score)."""
    pts = points.dropna(subset=["score", "date"])
    out = {}
    for bench, rows in pts.groupby("benchmark", sort=True):
        stderr = rows["stderr"] if "stderr" in rows else pd.Series(np.nan, index=rows.index)
        out[str(bench)] = {"days": _days(rows["date"]), "nats": to_nats(rows["score"]),
                           "acc": rows["score"].to_numpy(float),
                           "se": pd.to_numeric(stderr, errors="coerce").to_numpy(float),
                           "open": (rows["access"] == "open").to_numpy(),
                           "model": rows["model"].to_numpy()}
    return out


def _running(days: np.ndarray, nats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted days, running best nats, and the row index holding that best."""
    order = np.lexsort((-nats, days))
    best, arg, cur = np.empty(len(order)), np.empty(len(order), int), -np.inf
    who = -1
    for k, i in enumerate(order):
        if nats[i] > cur:
            cur, who = nats[i], i
        best[k], arg[k] = cur, who
    return days[order], best, arg


def distance_series(a: dict[str, np.ndarray], grid: np.ndarray,
                    tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lag in months at each grid day (NaN before both sides exist), censored mask, caught mask."""
    lag = np.full(len(grid), np.nan)
    cens, caught = np.zeros(len(grid), bool), np.zeros(len(grid), bool)
    if not a["open"].any() or a["open"].all():
        return lag, cens, caught
    od, ob, oa = _running(a["days"][a["open"]], a["nats"][a["open"]])
    cd, cb, ca = _running(a["days"][~a["open"]], a["nats"][~a["open"]])
    io, ic = np.searchsorted(od, grid, "right") - 1, np.searchsorted(cd, grid, "right") - 1
    ok = (io >= 0) & (ic >= 0)
    o_lvl, c_lvl = ob[np.maximum(io, 0)], cb[np.maximum(ic, 0)]
    caught = ok & (c_lvl - o_lvl <= tolerance)
    se_o = a["se"][a["open"]][oa[np.maximum(io, 0)]]
    se_c = a["se"][~a["open"]][ca[np.maximum(ic, 0)]]
    acc_gap = (a["acc"][~a["open"]][ca[np.maximum(ic, 0)]]
               - a["acc"][a["open"]][oa[np.maximum(io, 0)]])
    has_se = ~np.isnan(se_o) & ~np.isnan(se_c)
    caught = np.where(ok & has_se, acc_gap <= 1.96 * np.sqrt(se_o**2 + se_c**2), caught)
    first = np.searchsorted(cb, o_lvl, "left")
    reach_day = cd[np.minimum(first, len(cd) - 1)]
    lag = np.where(ok, np.where(caught, 0.0, (grid - reach_day) / DAYS_PER_MONTH), np.nan)
    cens = ok & ~caught & (first == 0) & (cb[0] > o_lvl)
    return lag, cens, caught & ok


def threshold_rows(a: dict[str, np.ndarray], as_of: float) -> list[dict]:
    """One row per accepted threshold: crossing days of both sides and the lag in months."""
    if np.nanmin(a["acc"]) < 0 or np.nanmax(a["acc"]) > 1 or a["open"].all() or \
            not a["open"].any():
        return []
    sides = {}
    for name, mask in (("open", a["open"]), ("closed", ~a["open"])):
        order = np.lexsort((-a["acc"][mask], a["days"][mask]))
        sides[name] = (a["days"][mask][order], np.maximum.accumulate(a["acc"][mask][order]),
                       np.flatnonzero(mask)[order])
    rows = []
    for h in np.round(np.arange(THRESHOLD_STEP, 1.0, THRESHOLD_STEP), 2):
        (od, ob, oi), (cd, cb, ci) = sides["open"], sides["closed"]
        if cb[0] >= h or ob[0] >= h or cb[-1] < h:
            continue  # a crossing before the data starts, or the closed side never crossed
        kc = int(np.searchsorted(cb, h - 1e-12, "left"))
        row = {"threshold": float(h), "closed_row": int(ci[kc]), "closed_day": cd[kc]}
        if ob[-1] >= h:
            ko = int(np.searchsorted(ob, h - 1e-12, "left"))
            row.update(open_row=int(oi[ko]), open_day=od[ko], censored=False,
                       lag_months=(od[ko] - cd[kc]) / DAYS_PER_MONTH)
        else:
            row.update(open_row=-1, open_day=np.nan, censored=True,
                       lag_months=max((as_of - cd[kc]) / DAYS_PER_MONTH, 0.0))
        rows.append(row)
    return rows


def _month_starts(first: float, as_of: float) -> np.ndarray:
    """Day numbers of the month starts from `first` to `as_of`, and `as_of` itself."""
    months = pd.date_range(pd.Timestamp(first, unit="D"), pd.Timestamp(as_of, unit="D"),
                           freq="MS")
    return np.unique(np.append(_days(pd.Series(months)), as_of))


def _grid(a: dict[str, np.ndarray], as_of: float, months: np.ndarray | None = None) -> np.ndarray:
    """Month starts from the day both sides have a score, to the as-of day (included)."""
    if not a["open"].any() or a["open"].all():
        return np.array([as_of])
    start = max(a["days"][a["open"]].min(), a["days"][~a["open"]].min())
    if months is None:
        return _month_starts(start, as_of)
    return months[months >= start]


def _active(a: dict[str, np.ndarray], as_of: float, window: float) -> bool:
    """Both sides scored within the window (else the distance only grows as nobody publishes).

    HellaSwag after 2024 is the example: no new scores on either side says nothing of the lag.
    """
    start = as_of - window * DAYS_PER_MONTH
    return bool((a["days"][a["open"]] > start).any() and (a["days"][~a["open"]] > start).any())


def _headlines(arrays: dict, rules: LagRules, as_of: float, window: float,
               months: np.ndarray | None = None) -> dict[str, float]:
    """Each estimator's pooled headline (mean months) for one set of arrays."""
    recs, dist, thr = [], [], []
    for a in arrays.values():
        recs += [m for _, j, m in record_lags(a["days"], a["nats"], a["open"], rules, as_of)
                 if j >= 0]
        if _active(a, as_of, window):
            grid = _grid(a, as_of, months)
            lag, _, _ = distance_series(a, grid, rules.tolerance)
            recent = lag[(grid > as_of - window * DAYS_PER_MONTH) & ~np.isnan(lag)]
            if recent.size:
                dist.append(float(recent.mean()))
        thr += [r["lag_months"] for r in threshold_rows(a, as_of) if not r["censored"]]
    return {"records": float(np.mean(recs)) if recs else np.nan,
            "distance": float(np.mean(dist)) if dist else np.nan,
            "thresholds": float(np.mean(thr)) if thr else np.nan}


def bootstrap(points: pd.DataFrame, rules: LagRules, as_of: float, window: float,
              boot: int, seed: int) -> dict[str, tuple[float, float]]:
    """95% percentile interval of each headline, resampling models with replacement.

    Every statistic here depends on frontiers (running maxima) only, so a model drawn twice
    counts as drawn once: a resample is the set of models drawn at least once.
    """
    arrays = _arrays(points)
    models = sorted({m for a in arrays.values() for m in a["model"]})
    code = {m: k for k, m in enumerate(models)}
    rows = {b: np.array([code[m] for m in a["model"]]) for b, a in arrays.items()}
    first = min((a["days"].min() for a in arrays.values()), default=as_of)
    months = _month_starts(first, as_of)
    rng, draws = np.random.default_rng(seed), {name: [] for name in ESTIMATORS}
    for _ in range(boot):
        drawn = np.zeros(len(models), bool)
        drawn[rng.integers(0, len(models), len(models))] = True
        sample = {b: {k: v[drawn[rows[b]]] for k, v in a.items()} for b, a in arrays.items()}
        sample = {b: a for b, a in sample.items() if len(a["days"])}
        for name, value in _headlines(sample, rules, as_of, window, months).items():
            draws[name].append(value)
    out = {}
    for name, values in draws.items():
        vals = np.asarray(values, float)
        vals = vals[~np.isnan(vals)]
        out[name] = (tuple(float(x) for x in np.percentile(vals, [2.5, 97.5]))
                     if vals.size >= max(10, boot // 2) else (np.nan, np.nan))
    return out


def distance_table(points: pd.DataFrame, as_of: pd.Timestamp,
                   tolerance: float = EPOCH_TOLERANCE) -> pd.DataFrame:
    """Per benchmark and month: the horizontal lag, and whether it is censored or caught up."""
    as_day = float(_days(pd.Series([as_of]))[0])
    frames = []
    for bench, a in _arrays(points).items():
        grid = _grid(a, as_day)
        lag, cens, caught = distance_series(a, grid, tolerance)
        frames.append(pd.DataFrame({
            "benchmark": bench, "date": pd.to_datetime(grid, unit="D"), "lag_months": lag,
            "censored": cens, "caught_up": caught}).dropna(subset=["lag_months"]))
    columns = ["benchmark", "date", "lag_months", "censored", "caught_up"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def threshold_table(points: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per benchmark and accepted threshold: who crossed it first on each side, months apart."""
    as_day = float(_days(pd.Series([as_of]))[0])
    rows = []
    for bench, a in _arrays(points).items():
        for r in threshold_rows(a, as_day):
            rows.append({
                "benchmark": bench, "threshold": r["threshold"],
                "closed_model": a["model"][r["closed_row"]],
                "closed_date": pd.Timestamp(r["closed_day"], unit="D").date(),
                "open_model": a["model"][r["open_row"]] if r["open_row"] >= 0 else None,
                "open_date": (pd.Timestamp(r["open_day"], unit="D").date()
                              if r["open_row"] >= 0 else None),
                "lag_months": r["lag_months"], "censored": r["censored"]})
    return pd.DataFrame(rows, columns=["benchmark", "threshold", "closed_model", "closed_date",
                                       "open_model", "open_date", "lag_months", "censored"])


def lag_estimates(points: pd.DataFrame, as_of: pd.Timestamp | None = None, *,
                  tolerance: float = EPOCH_TOLERANCE, window: float = 12, boot: int = 500,
                  seed: int = 0, series_end: bool = False) -> dict[str, pd.DataFrame]:
    """All three estimators on one source's points, with a summary row each (95% intervals).

    `points`: benchmark, model, access, date, score (+ optional stderr); Epoch's file, the
    published scores and measured results all come in this shape (lag.results_points).
    `as_of` (default: the last date in the data) is the censoring date.
    """
    pts = points.dropna(subset=["score", "date"]).assign(date=lambda d: pd.to_datetime(d["date"]))
    as_of = pd.Timestamp(as_of) if as_of is not None else pts["date"].max()
    rules = LagRules(tolerance, tolerance)
    as_day = float(_days(pd.Series([as_of]))[0])
    records = lag_table(pts, tolerance=tolerance, cutoff=as_of, series_end=series_end)
    distance = distance_table(pts, as_of, tolerance)
    thresholds = threshold_table(pts, as_of)
    heads = _headlines(_arrays(pts), rules, as_day, window) if len(pts) else {}
    ci = bootstrap(pts, rules, as_day, window, boot, seed) if boot and len(pts) else {}
    active = [b for b, a in _arrays(pts).items() if _active(a, as_day, window)]
    recent = distance[(distance["date"] > as_of - pd.Timedelta(days=window * DAYS_PER_MONTH))
                      & distance["benchmark"].isin(active)]
    per_bench = recent.groupby("benchmark")["lag_months"].mean()
    done_r = records[~records["censored"].astype(bool)]["lag_months"]
    done_t = thresholds[~thresholds["censored"].astype(bool)]["lag_months"]
    stats = {
        "records": (done_r, int(records["censored"].astype(bool).sum()),
                    "months until an open model reaches each closed state of the art"),
        "distance": (per_bench, int(recent["censored"].sum()),
                     f"horizontal distance between the frontiers, mean of the last {window:g} "
                     "months per benchmark"),
        "thresholds": (done_t, int(thresholds["censored"].astype(bool).sum()),
                       "months between closed and open first crossing each 5-point threshold"),
    }
    summary = pd.DataFrame([{
        "estimator": name, "mean_months": heads.get(name, np.nan),
        "median_months": float(values.median()) if len(values) else np.nan,
        "ci_low": ci.get(name, (np.nan, np.nan))[0], "ci_high": ci.get(name, (np.nan, np.nan))[1],
        "n": int(len(values)), "censored": censored, "as_of": as_of.date(), "what": what,
    } for name, (values, censored, what) in stats.items()])
    km = km_summary(records, boot=boot, seed=seed)
    summary = pd.concat([summary, pd.DataFrame([{
        "estimator": "records_km", "mean_months": np.nan,
        "median_months": np.nan if km["median"] is None else km["median"],
        "ci_low": np.nan if km["ci_low"] is None else km["ci_low"],
        "ci_high": np.nan if km["ci_high"] is None else km["ci_high"],
        "n": km["records"], "censored": km["censored"], "as_of": as_of.date(),
        "what": ("Kaplan-Meier median months until an open model reaches a closed record, "
                 "unreached records censored at "
                 + ("their series' last date" if series_end else "the as-of date")
                 + " (records with no follow-up left out)"
                 + (f"; not estimable, at least {km['lower_bound']:.1f}"
                    if km["lower_bound"] is not None else "")),
        "lower_bound": km["lower_bound"]}])], ignore_index=True)
    return {"records": records, "distance": distance, "thresholds": thresholds,
            "summary": summary}
