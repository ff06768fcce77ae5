"""The lag estimators as display tables and files (md, csv, png), for `epoch-lag` and `report`.

Kept apart from the estimators (report/catchup.py) so those stay pure numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from openvsclosed.report.lag import KM_NAME
from openvsclosed.report.render import (
    DisplayTable,
    fmt_num,
    fmt_text,
    missing,
    to_csv,
    to_markdown,
)

if TYPE_CHECKING:
    from openvsclosed.report.forks import ForkPool

ESTIMATOR_NAMES = {"records": "Records (Epoch 2024)", "distance": "Frontier distance",
                   "thresholds": "Threshold crossing",
                   "records_km": KM_NAME[0].upper() + KM_NAME[1:]}


def summary_rows(summary: pd.DataFrame, source: str = "") -> DisplayTable:
    """One row per estimator: mean lag with its 95% bootstrap interval, median, counts."""
    header = ["Estimator", "Mean lag (months)", "95% interval", "Median", "Lags", "Censored",
              "As of", "What"]
    rows = [[ESTIMATOR_NAMES.get(r["estimator"], r["estimator"]), fmt_num(r["mean_months"]),
             f"{fmt_num(r['ci_low'])} to {_high(r['ci_high'])}", _median(r),
             str(r["n"]), str(r["censored"]), fmt_text(r["as_of"]), r["what"]]
            for _, r in summary.iterrows()]
    note = ("Three estimators of how many months the open frontier trails the closed one. "
            "Interval: 95% percentile bootstrap, resampling models. Censored lags (not closed "
            "by the as-of date) are counted apart, never averaged in. Records and thresholds "
            "are pooled over benchmarks; the distance is the mean over benchmarks of its last "
            "12 months, on benchmarks where both sides released a scored model in them. "
            f"{ESTIMATOR_NAMES['records_km']}: the censoring-aware summary of the records, "
            "reached and not-yet-reached ones together (its interval: of the median, "
            "resampling records; \"more\": not bounded by the data), so the longest lags are "
            "not left out.")
    title = "Lag of the open frontier, three estimators" + (f" ({source})" if source else "")
    return DisplayTable("lag_estimates", title, header, rows, note)


def _high(value: object) -> str:
    """An interval's upper end; "more" where the data do not bound it (infinite)."""
    return "more" if not missing(value) and float(value) == float("inf") else fmt_num(value)


def _median(row: pd.Series) -> str:
    """The median, or `≥ bound` for a Kaplan-Meier median not yet estimable."""
    bound = row.get("lower_bound")
    if missing(row["median_months"]) and not missing(bound):
        return f"≥ {fmt_num(bound)}"
    return fmt_num(row["median_months"])


def records_rows(records: pd.DataFrame) -> DisplayTable:
    """Each closed state of the art, who caught up with it and when (>=: censored)."""
    header = ["Benchmark", "Closed record", "Released", "Score", "First open to reach",
              "Released", "Score", "Lag (months)"]
    rows = [[r["benchmark"], r["closed_model"], str(r["closed_date"]),
             fmt_num(100 * r["closed_score"]), fmt_text(r["open_model"], "not yet"),
             fmt_text(r["open_date"]),
             fmt_num(None if pd.isna(r["open_score"]) else 100 * r["open_score"]),
             ("≥ " if r["censored"] else "") + fmt_num(r["lag_months"])]
            for _, r in records.iterrows()]
    note = ("Epoch AI's 2024 method (rules in the README): an open model reaches a record when "
            "its error rate is within 0.02 nats of it, released after it.")
    return DisplayTable("lag_records", "Closed records and the open catch-up", header, rows, note)


def threshold_rows_display(thresholds: pd.DataFrame) -> DisplayTable:
    """Each accepted threshold with both sides' first crossing."""
    header = ["Benchmark", "Threshold", "Closed first", "On", "Open first", "On", "Lag (months)"]
    rows = [[r["benchmark"], fmt_num(100 * r["threshold"], 0), r["closed_model"],
             str(r["closed_date"]), fmt_text(r["open_model"], "not yet"), fmt_text(r["open_date"]),
             ("≥ " if r["censored"] else "") + fmt_num(r["lag_months"])]
            for _, r in thresholds.iterrows()]
    note = "Negative: the open side crossed first."
    return DisplayTable("lag_thresholds", "Threshold crossings", header, rows, note)


def write_lag_files(estimates: dict[str, pd.DataFrame], out_dir: Path, prefix: str,
                    source: str = "", forks: ForkPool | None = None) -> list[Path]:
    """`<prefix>.md` (all three tables), one CSV per estimator, `<prefix>_over_time.png`.

    With `forks` the figure is only started there (report/forks.py; the caller waits).
    """
    from openvsclosed.report.plots import lag_time_plot
    from openvsclosed.store import write_atomic

    out_dir = Path(out_dir)
    tables = [summary_rows(estimates["summary"], source), records_rows(estimates["records"]),
              threshold_rows_display(estimates["thresholds"])]
    paths = [out_dir / f"{prefix}.md"]
    write_atomic(paths[0], "\n".join(to_markdown(t) for t in tables))
    for name in ("summary", "records", "distance", "thresholds"):
        paths.append(out_dir / f"{prefix}_{name}.csv")
        write_atomic(paths[-1], to_csv(estimates[name]))
    paths.append(out_dir / f"{prefix}_over_time.png")
    title = f"Lag of the open frontier over time ({source})" if source else ""
    if forks is None:
        lag_time_plot(estimates, paths[-1], title)
    else:
        forks.submit(lag_time_plot, estimates, paths[-1], title)
    return paths


def write_source_lags(estimates: dict[str, dict[str, pd.DataFrame]],
                      out_dir: Path, forks: ForkPool | None = None) -> list[Path]:
    """The three estimators per source of a report (never pooled across sources).

    `estimates` comes from the report's tables (published scores censored at the end of the
    table's coverage, measured and imported ones at their last release date). Files:
    `lag_<source>.md`, `lag_<source>_*.csv`, `lag_<source>_over_time.png`.
    """
    paths: list[Path] = []
    for source, on_source in sorted(estimates.items()):
        paths += write_lag_files(on_source, out_dir, f"lag_{source}", str(source), forks)
    return paths
