"""Records -> tables -> files. Reads only the store: never lm_eval, torch or the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from openvsclosed.recordframe import records_frame
from openvsclosed.report.catchup import lag_estimates
from openvsclosed.report.claims import ClaimsError, ClaimVerdict, judge_claims, load_claims
from openvsclosed.report.cost import DEFAULT_GPU_HOUR_USD, efficiency
from openvsclosed.report.epochhub import HubError
from openvsclosed.report.headline import Headline, build_headline
from openvsclosed.report.lag import lag_summary, lag_table, results_points
from openvsclosed.report.sources import SourceError
from openvsclosed.report.stats import model_summary
from openvsclosed.report.tables import gap_by_task, latest_results, leaderboard, open_wins
from openvsclosed.report.write import ReportError
from openvsclosed.schema import ResultRecord
from openvsclosed.store import ResultStore


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
    as_of: object = None
    """The published data's freeze date (data/sources/_freeze.yaml), a date or None."""
    exclusions: pd.DataFrame | None = None
    """Published cells left out of the comparison: rule, cells, examples."""
    pairs: pd.DataFrame | None = None
    """Every like-with-like pair the answer chose among (report/leads.py)."""


@dataclass
class Gathered:
    """What gather_results read beside the rows: the freeze date and the exclusions."""

    as_of: object = None
    exclusions: pd.DataFrame | None = None
    finished: set[tuple[str, str]] | None = None
    """(model id, key) of every stored record read, so the failure log is matched without
    reading the records again."""


def gather_results(results_dir: Path | None, *, reported: bool = True,
                   imported: list[ResultRecord] | None = None,
                   problems: list[str] | None = None, epoch_hub: Path | None = None,
                   gathered: Gathered | None = None) -> pd.DataFrame:
    """Measured rows from the store, imported lm_eval results, published and independent scores.

    Unreadable stored files are skipped and named in `problems`: one bad file must not hide
    every other result. Measured rows carry their no-answer, truncated and refused rates and a
    `valid` flag (report/validity.py); an imported file that states no n has n unknown.
    Published rows come from data/sources/*.yaml (every included cell), independent ones from
    an imported Epoch AI hub folder (report/epochhub.py; `epoch_hub` or the default folder).
    """
    from openvsclosed.report.validity import add_validity

    gathered = gathered if gathered is not None else Gathered()
    frames = []
    if results_dir is not None:
        store = ResultStore(results_dir)
        read = _read_store(store)  # each record once, its samples reduced to doc scores
        records = [record for record, _ in read]
        frames.append(_with_counts(records_frame(records, [s for _, s in read]), records)
                      .assign(tokens=[_tokens(r) for r in records]))
        gathered.finished = {(r.model.id, r.key) for r in records}
        if problems is not None:
            problems.extend(store.problems)
    if imported:
        rows = _with_counts(records_frame(imported), imported).assign(source="imported")
        rows["n"] = rows["n"].astype("Int64").mask(rows["n"] == 0)  # not stated: unknown
        frames.append(rows)
    if reported:
        from openvsclosed.report.published import reported_rows
        from openvsclosed.report.sources import load_sources

        data = load_sources()
        gathered.as_of, gathered.exclusions = data.freeze, data.exclusions()
        frames.append(reported_rows(data))
        from openvsclosed.report.epochhub import hub_rows

        hub, dropped = hub_rows(epoch_hub, data)
        frames.append(hub)
        gathered.exclusions = pd.concat([x for x in (gathered.exclusions, dropped) if len(x)]
                                        or [dropped], ignore_index=True)
    frames = [f for f in frames if not f.empty]
    if not frames:
        return records_frame([])
    return add_validity(latest_results(pd.concat(frames, ignore_index=True)))


def _read_store(store: ResultStore) -> list[tuple[ResultRecord, dict[str, float]]]:
    """`store.scored()`, its files shared out among forked readers (parsing is most of it).

    Contiguous shares, joined in order: the same rows and `problems`, in the same order, as
    one process reading them all.
    """
    from openvsclosed.report.forks import ForkPool

    paths = store.record_paths()
    with ForkPool() as forks:
        count = forks.children if len(paths) >= 200 else 1
        shares = [paths[i * len(paths) // count:(i + 1) * len(paths) // count]
                  for i in range(count)]
        jobs = [forks.submit(_read_share, store.root, share) for share in shares[1:]]
        read = _read_share(store.root, shares[0])
        parts = [read, *(job.result() for job in jobs)]
    for _, problems in parts:
        store.problems.extend(problems)
    return [pair for pairs, _ in parts for pair in pairs]


def _read_share(root: Path, paths: list[Path]) -> tuple[list, list[str]]:
    """One reader's share: (record, doc scores) pairs and the files it could not read."""
    reader = ResultStore(root)
    return list(reader.scored(paths)), reader.problems


def _with_counts(frame: pd.DataFrame, records: list[ResultRecord]) -> pd.DataFrame:
    """The records' no-answer, truncated and refused counts beside their rows."""
    return frame.assign(**{k: [getattr(r, k, 0) for r in records]
                           for k in ("no_answer", "truncated", "refused")})


def _tokens(record: ResultRecord) -> float | None:
    """Tokens a job processed (input + output), where its usage recorded them."""
    counts = [record.usage.get(k) for k in ("input_tokens", "output_tokens")]
    return float(sum(c for c in counts if c)) if any(counts) else None


def build_tables(results: pd.DataFrame, *, claims_path: Path | None = None,
                 gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD, boot: int = 500,
                 as_of: object = None) -> ReportTables:
    """All the report's tables from one frame of result rows.

    The lag runs within one protocol series (the series is passed as the benchmark), published
    and independent data censored at `as_of` (the freeze date), measured at their last date.
    Raises ClaimsError for a claims file that cannot be judged, before anything is written.
    """
    from openvsclosed.report.forks import ForkPool

    points = results_points(results)
    series = points.assign(benchmark=points["series"]) if len(points) else points
    if len(series):  # a series with one side only has no lag to estimate
        sides = series.groupby("benchmark")["access"].transform("nunique")
        series = series[sides == 2]

    def cutoff(source: object) -> object:
        return as_of if source in ("reported", "independent") else None

    claimed = load_claims(claims_path) if claims_path else None
    with ForkPool() as forks:  # the claims and the bootstrap beside the tables (report/forks)
        judged = forks.submit(judge_claims, claimed, results, as_of=as_of) if claimed else None
        # many short series (published tables) make each resample slow: fewer draws, >= 100
        estimating = {str(source): forks.submit(
            lag_estimates, on_source, cutoff(source), series_end=True,
            boot=min(boot, max(100, 10_000 // max(1, on_source["benchmark"].nunique()))))
                      for source, on_source in series.groupby("source", sort=True)}
        gap = gap_by_task(results)
        lags = {source: lag_table(on_source, cutoff=cutoff(source), series_end=True)
                .assign(source=source)
                for source, on_source in series.groupby("source", sort=True)}
        lag = pd.concat(lags.values(), ignore_index=True) if lags else lag_table(series)
        board, models = leaderboard(results), model_summary(results)
        costs = efficiency(results, gpu_hour_usd)
        claims = judged.result() if judged is not None else []
        estimates = {source: job.result() for source, job in estimating.items()}
    wins = open_wins(gap, "measured")
    sources = sorted(results["source"].unique()) if not results.empty else []
    intro = (f"{len(results)} scores ({', '.join(sources) or 'none'}); measured open wins: "
             f"{', '.join(wins) or 'none'}.")
    return ReportTables(
        results=results, leaderboard=board, gap=gap, models=models, lag=lag,
        lag_summary={source: lag_summary(frame) for source, frame in lags.items()},
        efficiency=costs, points=points,
        claims=claims, intro=intro, lag_estimates=estimates, as_of=as_of,
    )


def build_report(results_dir: Path | None, out_dir: Path, *, reported: bool = True,
                 imported: list[ResultRecord] | None = None, claims_path: Path | None = None,
                 gpu_hour_usd: float = DEFAULT_GPU_HOUR_USD,
                 title: str = "Open vs closed LLMs",
                 epoch_hub: Path | None = None) -> ReportTables:
    """Tabulate, then write every output format into `out_dir`.

    Everything is built first and written into a temporary folder beside `out_dir`; only a
    complete report replaces what was there (file by file, each an atomic rename), so a
    failure never leaves a half-written report. Raises ReportError for unusable input.
    """
    from openvsclosed.report.write import check_out_dir, write_all

    out_dir = check_out_dir(Path(out_dir))
    problems: list[str] = []
    gathered = Gathered()
    try:
        results = gather_results(results_dir, reported=reported, imported=imported,
                                 problems=problems, epoch_hub=epoch_hub, gathered=gathered)
    except (SourceError, HubError) as exc:
        raise ReportError(str(exc)) from None
    try:
        tables = build_tables(results, claims_path=claims_path, gpu_hour_usd=gpu_hour_usd,
                              as_of=gathered.as_of)
    except ClaimsError as exc:
        raise ReportError(f"--claims: {exc}") from None
    tables.exclusions = gathered.exclusions
    if results_dir is not None:
        store = ResultStore(results_dir)
        tables.failed = store.open_failures(gathered.finished)
        tables.skipped = store.skipped()
        problems.extend(p for p in store.problems if p not in problems)
    tables.warnings = problems
    tables.measured_dir = results_dir is not None
    tables.headline = build_headline(tables, measured_dir=tables.measured_dir)
    tables.files = write_all(out_dir, tables, title)
    return tables


__all__ = ["Gathered", "ReportError", "ReportTables", "build_report", "build_tables", "gap_by_task",
           "gather_results", "latest_results", "leaderboard"]
