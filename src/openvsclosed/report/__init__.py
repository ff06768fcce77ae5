"""Records -> tables -> files. Reads only the store: never lm_eval, torch or the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from openvsclosed.report.catchup import lag_estimates
from openvsclosed.report.claims import ClaimsError, ClaimVerdict, judge_claims, load_claims
from openvsclosed.report.cost import DEFAULT_GPU_HOUR_USD, efficiency
from openvsclosed.report.headline import Headline, build_headline
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
    skipped: list = field(default_factory=list)
    """Jobs the last run left out, each with model, task and reason."""
    failed: list = field(default_factory=list)
    """Jobs whose last attempt failed and that have not finished since (FailureRecords)."""
    warnings: list[str] = field(default_factory=list)
    """Stored files that could not be read (skipped, named)."""
    files: list[Path] = field(default_factory=list)
    lag_estimates: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    """The three lag estimators per source (report/catchup.py), computed once for all formats."""
    measured_dir: bool = False
    """Whether a results directory was read (then an empty measured side needs explaining)."""
    headline: Headline | None = None


class ReportError(Exception):
    """Input the report cannot use (an --out that is a file, a bad claims file): exit 2."""


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
        records = list(store.records())
        frames.append(records_frame(records).assign(tokens=[_tokens(r) for r in records]))
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


def _tokens(record: ResultRecord) -> float | None:
    """Tokens a job processed (input + output), where its usage recorded them."""
    counts = [record.usage.get(k) for k in ("input_tokens", "output_tokens")]
    return float(sum(c for c in counts if c)) if any(counts) else None


def build_tables(results: pd.DataFrame, *, claims_path: Path | None = None,
                 gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD, boot: int = 500) -> ReportTables:
    """All the report's tables from one frame of result rows.

    Raises ClaimsError for a claims file that cannot be judged, before anything is written.
    """
    gap = gap_by_task(results)
    points = results_points(results)
    lags = {source: lag_table(on_source, cutoff=PUBLISHED_AS_OF if source == "reported"
                              else None).assign(source=source)
            for source, on_source in points.groupby("source", sort=True)}
    lag = pd.concat(lags.values(), ignore_index=True) if lags else lag_table(points)
    claims = judge_claims(load_claims(claims_path), results) if claims_path else []
    estimates = {str(source): lag_estimates(
        on_source, PUBLISHED_AS_OF if source == "reported" else None, boot=boot)
        for source, on_source in points.groupby("source", sort=True)}
    wins = open_wins(gap, "measured")
    sources = sorted(results["source"].unique()) if not results.empty else []
    intro = (f"{len(results)} scores ({', '.join(sources) or 'none'}); measured open wins: "
             f"{', '.join(wins) or 'none'}.")
    return ReportTables(
        results=results, leaderboard=leaderboard(results), gap=gap,
        models=model_summary(results), lag=lag,
        lag_summary={source: lag_summary(frame) for source, frame in lags.items()},
        efficiency=efficiency(results, gpu_hour_usd), points=points,
        claims=claims, intro=intro, lag_estimates=estimates,
    )


def build_report(results_dir: Path | None, out_dir: Path, *, reported: bool = True,
                 imported: list[ResultRecord] | None = None, claims_path: Path | None = None,
                 gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD,
                 title: str = "Open vs closed LLMs") -> ReportTables:
    """Tabulate, then write every output format into `out_dir`.

    Everything is built first and written into a temporary folder beside `out_dir`; only a
    complete report replaces what was there (file by file, each an atomic rename), so a
    failure never leaves a half-written report. Raises ReportError for unusable input.
    """
    from openvsclosed.report.write import check_out_dir, write_all

    out_dir = check_out_dir(Path(out_dir))
    problems: list[str] = []
    results = gather_results(results_dir, reported=reported, imported=imported,
                             problems=problems)
    try:
        tables = build_tables(results, claims_path=claims_path, gpu_hour_usd=gpu_hour_usd)
    except ClaimsError as exc:
        raise ReportError(f"--claims: {exc}") from None
    if results_dir is not None:
        store = ResultStore(results_dir)
        tables.failed = store.open_failures()
        tables.skipped = store.skipped()
        problems.extend(p for p in store.problems if p not in problems)
    tables.warnings = problems
    tables.measured_dir = results_dir is not None
    tables.headline = build_headline(tables, measured_dir=tables.measured_dir)
    tables.files = write_all(out_dir, tables, title)
    return tables


__all__ = ["ReportError", "ReportTables", "build_report", "build_tables", "gap_by_task",
           "gather_results", "latest_results", "leaderboard"]
