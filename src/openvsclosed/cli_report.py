"""The report commands: `report`, `import-epoch` and `epoch-lag`.

None of them imports lm_eval, torch or the config module: a report runs on a laptop with only
pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openvsclosed.cliapp import _console, _out, _usage_error, app

OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Where the files go (default: the folder named report in RESULTS_DIR).")]


ReportDirArg = Annotated[Path | None, typer.Argument(
    help="A results directory written by `run` (omit with --published-only).")]
ReportedOpt = Annotated[bool, typer.Option(
    "--reported/--no-reported", help="Show published scores beside measured ones (marked).")]
ImportOpt = Annotated[list[Path] | None, typer.Option(
    "--import", help="A results JSON written by the plain lm_eval command, 0.3 or 0.4 "
    "(repeatable); prefix open: or closed: for a model the catalog does not know.")]
ClaimsOpt = Annotated[Path | None, typer.Option(
    help="Structured claims to judge (default: seeds/claims.yaml when present).")]
GpuOpt = Annotated[float, typer.Option(
    help="Dollars per GPU-hour, to price local models per 1,000 questions.", min=0)]
PublishedOpt = Annotated[bool, typer.Option(
    "--published-only",
    help="Build the report from published scores only (no results directory).")]
SiteOpt = Annotated[Path | None, typer.Option(
    "--site", help="A site folder: the report goes into DIR/<date>/ as a dated snapshot, "
    "earlier ones are kept, and DIR/index.html (what changed, the answer over time) and "
    "DIR/feed.json are rebuilt. Instead of --out.")]
SnapshotDateOpt = Annotated[str | None, typer.Option(
    "--snapshot-date", help="The snapshot's date with --site, YYYY-MM-DD (default: today, "
    "UTC); the same date again replaces that snapshot.")]
HubOpt = Annotated[Path | None, typer.Option(
    "--epoch-hub", help="Epoch AI's benchmark_data.zip, or a folder written by import-epoch "
    "(default: the folder import-epoch writes, when present).")]
DEFAULT_CLAIMS = Path("seeds/claims.yaml")


@app.command()
def report(
    results_dir: ReportDirArg = None,
    out_dir: OutOpt = None,
    reported: ReportedOpt = True,
    import_paths: ImportOpt = None,
    claims: ClaimsOpt = None,
    gpu_hour_usd: GpuOpt = 2.0,
    published_only: PublishedOpt = False,
    epoch_hub: HubOpt = None,
    site: SiteOpt = None,
    snapshot_date: SnapshotDateOpt = None,
) -> None:
    """Leaderboard, gap per task with CIs, lag, claims' verdicts: terminal, md/csv/tex/json/html."""
    from openvsclosed.harvest import HarvestError
    from openvsclosed.imported import import_lm_eval_file
    from openvsclosed.report import ReportError, build_report
    from openvsclosed.report.terminal import print_report
    from openvsclosed.store import StoreError

    if published_only:
        if results_dir is not None:
            raise _usage_error("--published-only takes no RESULTS_DIR; allowed: one or the other.")
        if not reported:
            raise _usage_error("--published-only and --no-reported leave nothing to report.")
        if out_dir is None and site is None:
            raise _usage_error("--published-only needs --out DIR or --site DIR (where the "
                               "report goes).")
    elif results_dir is None:
        raise _usage_error("RESULTS_DIR is missing; allowed: a directory written by "
                           "`openvsclosed run`, or --published-only with --out DIR.")
    elif not results_dir.is_dir():
        raise _usage_error(f"{results_dir}: no such results directory; allowed: a directory "
                           "written by `openvsclosed run` (its config's results_dir).")
    if claims is not None and not claims.is_file():
        raise _usage_error(f"--claims: {claims} is not a file; allowed: a claims YAML like "
                           "seeds/claims.yaml.")
    claims = claims or (DEFAULT_CLAIMS if DEFAULT_CLAIMS.is_file() else None)
    day = None
    if site is not None or snapshot_date is not None:
        from openvsclosed.report.site import snapshot_date as checked_date

        if site is None:
            raise _usage_error("--snapshot-date without --site; allowed: --snapshot-date "
                               "YYYY-MM-DD together with --site DIR.")
        if out_dir is not None:
            raise _usage_error("--site DIR and --out DIR: allowed: one or the other (--site "
                               "writes the report into DIR/<date>/).")
        from openvsclosed.report.write import check_out_dir

        try:
            day = checked_date(snapshot_date)
            out_dir = check_out_dir(site / day, "--site")  # named as the user gave it
        except ReportError as exc:
            raise _usage_error(str(exc)) from None
    imported = []
    for path in import_paths or []:
        try:
            imported += import_lm_eval_file(path)
        except HarvestError as exc:
            raise _usage_error(str(exc)) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise _usage_error(f"--import: {path}: not a results JSON written by lm_eval "
                               f"({type(exc).__name__}: {str(exc)[:160]}); allowed: the "
                               "results_*.json of `lm_eval --output_path`, 0.3 or 0.4.") from None
    try:
        tables = build_report(results_dir, out_dir or results_dir / "report", reported=reported,
                              imported=imported, claims_path=claims, gpu_hour_usd=gpu_hour_usd,
                              epoch_hub=epoch_hub)
    except (StoreError, ReportError) as exc:
        raise _usage_error(str(exc)) from None
    if site is not None:
        from openvsclosed.report.site import finish_snapshot

        try:
            finish_snapshot(site, tables, "Open vs closed LLMs", day)
        except OSError as exc:
            raise _usage_error(f"--site: {site}: the index could not be written ({exc}); "
                               "the snapshot's report is in place.") from None
    print_report(_console(), tables)
    _out().print(f"Wrote {len(tables.files)} files into "
                 f"{tables.files[0].parent}: index.html and report.md open with the answer; "
                 "md/csv/tex tables, PNG plots, lag_<source>.md with the three lag estimators.",
                 highlight=False, soft_wrap=True)
    if site is not None:
        _out().print(f"Site: {site / 'index.html'} (what changed, the answer over time) and "
                     f"{site / 'feed.json'} rebuilt from every dated snapshot in {site}.",
                     highlight=False, soft_wrap=True)


HubZipArg = Annotated[Path, typer.Argument(help="Epoch AI's benchmark_data.zip (one CSV per "
                                            "benchmark, from epoch.ai/data/benchmark_data.zip).")]


@app.command("import-epoch")
def import_epoch(zip_path: HubZipArg, out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write (default: $OVC_EPOCH_HUB, else "
        "~/.local/share/openvsclosed/epoch_hub, which `report` reads).")] = None) -> None:
    """Import Epoch AI's Benchmarking Hub zip: independent open and closed scores for `report`."""
    from openvsclosed.report.epochhub import HubError, import_zip

    try:
        path, rows = import_zip(zip_path, out_dir)
    except HubError as exc:
        raise _usage_error(str(exc)) from None
    _out().print(f"Imported {rows} scores into {path}; `openvsclosed report` reads them as the "
                 "independent source (or pass --epoch-hub).", highlight=False, soft_wrap=True)


EpochArg = Annotated[Path, typer.Argument(help="Epoch AI's epoch_open_model_trends.csv.")]
ToleranceOpt = Annotated[float, typer.Option(
    help="Error-rate nats, -ln(1-acc), below a record that still count as reaching it "
         "(Epoch's 0.02; 0 is strict).", min=0)]
TrustedOpt = Annotated[bool, typer.Option(
    "--trusted-only", help="Drop every row Epoch flags as suspect (-1) on every benchmark; "
    "default: Epoch's own rule (suspect rows dropped on MMLU, and on GPQA from November 2023).")]


EpochOutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Folder for epoch_lag.md, one CSV per estimator and two PNG plots "
    "(default: none; the tables are printed and nothing is written).")]


@app.command("epoch-lag")
def epoch_lag(csv: EpochArg, out_dir: EpochOutOpt = None, tolerance: ToleranceOpt = 0.02,
              trusted_only: TrustedOpt = False) -> None:
    """Reproduce Epoch AI's open-vs-closed lag analysis from their data file (three estimators)."""
    from openvsclosed.report.epoch import write_epoch_lag

    if not csv.is_file():
        raise _usage_error(f"{csv}: no such file; allowed: Epoch's open-model trends CSV.")
    try:
        summary = write_epoch_lag(csv, out_dir, tolerance=tolerance,
                                  trust="no-suspect" if trusted_only else "epoch")
    except (KeyError, ValueError) as exc:
        raise _usage_error(f"{csv}: not Epoch's trends file (missing column {exc}).") from None
    for line in summary.lines:
        _out().print(line, highlight=False, soft_wrap=True)
