"""Records -> tables -> files. Reads only the store: never lm_eval, torch or the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from openvsclosed.report.claims import ClaimVerdict, judge_claims, load_claims
from openvsclosed.report.cost import DEFAULT_GPU_HOUR_USD, efficiency
from openvsclosed.report.lag import lag_summary, lag_table, results_points
from openvsclosed.report.published import PUBLISHED_AS_OF, load_reported
from openvsclosed.report.stats import model_summary
from openvsclosed.report.tables import gap_by_task, latest_results, leaderboard, open_wins
from openvsclosed.schema import ResultRecord
from openvsclosed.store import ResultStore, records_frame


@dataclass
class ReportTables:
    """Everything a report shows, as frames (scores in points except `results`)."""

    results: pd.DataFrame
    leaderboard: pd.DataFrame
    gap: pd.DataFrame
    models: pd.DataFrame
    lag: pd.DataFrame
    lag_summary: dict[str, dict]
    """Pooled lag per source (never across sources)."""
    efficiency: pd.DataFrame
    points: pd.DataFrame
    claims: list[ClaimVerdict] = field(default_factory=list)
    intro: str = ""
    failed: list = field(default_factory=list)
    """Jobs whose last attempt failed and that have not finished since (FailureRecords)."""
    warnings: list[str] = field(default_factory=list)
    """Stored files that could not be read (skipped, named)."""
    files: list[Path] = field(default_factory=list)


def gather_results(results_dir: Path | None, *, reported: bool = True,
                   imported: list[ResultRecord] | None = None,
                   problems: list[str] | None = None) -> pd.DataFrame:
    """Measured rows from the store, imported lm_eval results, and published scores.

    Unreadable stored files are skipped and named in `problems`: one bad file must not hide
    every other result.
    """
    frames = []
    if results_dir is not None:
        store = ResultStore(results_dir)
        frames.append(store.to_frame())
        if problems is not None:
            problems.extend(store.problems)
    if imported:
        frames.append(records_frame(imported).assign(source="imported"))
    if reported:
        frames.append(load_reported())
    frames = [f for f in frames if not f.empty]
    if not frames:
        return records_frame([])
    return latest_results(pd.concat(frames, ignore_index=True))


def build_tables(results: pd.DataFrame, *, claims_path: Path | None = None,
                 gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD) -> ReportTables:
    """All the report's tables from one frame of result rows."""
    gap = gap_by_task(results)
    points = results_points(results)
    lags = {source: lag_table(on_source, cutoff=PUBLISHED_AS_OF if source == "reported"
                              else None).assign(source=source)
            for source, on_source in points.groupby("source", sort=True)}
    lag = pd.concat(lags.values(), ignore_index=True) if lags else lag_table(points)
    claims = judge_claims(load_claims(claims_path), results) if claims_path else []
    wins = open_wins(gap, "measured")
    sources = sorted(results["source"].unique()) if not results.empty else []
    intro = (f"{len(results)} scores ({', '.join(sources) or 'none'}); measured open wins: "
             f"{', '.join(wins) or 'none'}.")
    return ReportTables(
        results=results, leaderboard=leaderboard(results), gap=gap,
        models=model_summary(results), lag=lag,
        lag_summary={source: lag_summary(frame) for source, frame in lags.items()},
        efficiency=efficiency(results, gpu_hour_usd), points=points,
        claims=claims, intro=intro,
    )


def build_report(results_dir: Path | None, out_dir: Path, *, reported: bool = True,
                 imported: list[ResultRecord] | None = None, claims_path: Path | None = None,
                 gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD,
                 title: str = "Open vs closed LLMs") -> ReportTables:
    """Tabulate and write every output format into `out_dir`."""
    from openvsclosed.report.lagfiles import write_source_lags
    from openvsclosed.report.publish import write_report

    problems: list[str] = []
    results = gather_results(results_dir, reported=reported, imported=imported,
                             problems=problems)
    tables = build_tables(results, claims_path=claims_path, gpu_hour_usd=gpu_hour_usd)
    if results_dir is not None:
        store = ResultStore(results_dir)
        tables.failed = store.open_failures()
        problems.extend(p for p in store.problems if p not in problems)
    tables.warnings = problems
    tables.files = write_report(out_dir, tables, title)
    tables.files += write_source_lags(tables.points, out_dir)
    return tables


__all__ = ["ReportTables", "build_report", "build_tables", "gap_by_task", "gather_results",
           "latest_results", "leaderboard"]
