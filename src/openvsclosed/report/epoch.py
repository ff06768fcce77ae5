"""Epoch AI's data file -> points, with the row filters their analysis used, and the pipeline.

Filters (from their benchmark_analysis.ipynb, 2024-11-04), and why:
- Fine-tuned derivatives are dropped (every Flan model, U-PaLM, Hermes-2 Theta Llama 3 70B): a
  fine-tune is not a new frontier model, and the file dates Flan-T5 at T5's 2019 release although
  it came out in October 2022, which would put open records three years early.
- Trust flags (1 trusted, -1 suspect, 0 unchecked). Epoch's own rule (`trust="epoch"`, the
  default): drop suspect rows on MMLU, and on GPQA only for models released from November 2023
  (GPQA was published then, so older models cannot have trained on it); keep every BBH row.
  `trust="no-suspect"` (`--trusted-only`) drops every -1 row on every benchmark; `trust="all"`
  keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from openvsclosed.report.lag import EPOCH_PUBLISHED, EPOCH_TOLERANCE, lag_summary, lag_table

EPOCH_BENCHMARKS = ("BBH", "GPQA", "MMLU")
FINE_TUNES = ("U-PaLM", "Hermes-2 Theta Llama 3 70B")
"""Epoch's list of fine-tuned systems that occur in the file (plus every name with 'Flan')."""
GPQA_PUBLISHED = pd.Timestamp("2023-11-01")
TRUST = "Trust in benchmark results"
TRUST_MODES = ("epoch", "no-suspect", "all")
EPOCH_REPORTED = {"MMLU": [25.4, 14.6, 16.6, 19.0, 16.3], "GPQA": [4.6, 4.6],
                  "BBH": [20.4, 18.2, 5.6]}
"""Epoch's per-benchmark catch-up lags (months) printed by their notebook, for comparison."""


def epoch_points(path: Path, benchmarks: tuple[str, ...] = EPOCH_BENCHMARKS,
                 trust: str = "epoch", trusted_only: bool = False) -> pd.DataFrame:
    """Epoch's data file as points (scores are fractions 0-1, as in their file).

    `trusted_only` is the CLI flag's spelling of `trust="no-suspect"`.
    """
    trust = "no-suspect" if trusted_only else trust
    if trust not in TRUST_MODES:
        raise ValueError(f"trust must be one of {', '.join(TRUST_MODES)}, not {trust!r}")
    raw = pd.read_csv(path)
    missing = [c for c in ("System", "Date", "Open/Closed", TRUST, *benchmarks)
               if c not in raw.columns]
    if missing:
        raise KeyError(", ".join(missing))
    raw = raw.dropna(subset=["Date", "Open/Closed"])
    raw = raw[~raw["System"].str.contains("flan", case=False) & ~raw["System"].isin(FINE_TUNES)]
    flag = pd.to_numeric(raw[TRUST], errors="coerce").fillna(0)
    dates = pd.to_datetime(raw["Date"])
    frames = []
    for bench in benchmarks:
        keep = pd.Series(True, index=raw.index)
        if trust == "no-suspect" or (trust == "epoch" and bench == "MMLU"):
            keep = flag >= 0
        elif trust == "epoch" and bench == "GPQA":
            keep = (flag >= 0) | (dates < GPQA_PUBLISHED)
        rows = raw[keep]
        frames.append(pd.DataFrame({
            "benchmark": bench, "model": rows["System"], "access": rows["Open/Closed"].str.lower(),
            "date": pd.to_datetime(rows["Date"]),
            "score": pd.to_numeric(rows[bench], errors="coerce")}))
    return pd.concat(frames, ignore_index=True).dropna(subset=["score"])


def epoch_comparison(lags: pd.DataFrame) -> pd.DataFrame:
    """Our reached lags per benchmark beside the ones Epoch's notebook printed."""
    rows = []
    for bench, theirs in EPOCH_REPORTED.items():
        ours = lags[(lags["benchmark"] == bench) & ~lags["censored"].astype(bool)]["lag_months"]
        rows.append({"benchmark": bench, "ours": ", ".join(f"{x:.1f}" for x in ours),
                     "epoch": ", ".join(f"{x:.1f}" for x in theirs),
                     "ours_mean": float(ours.mean()) if len(ours) else None,
                     "epoch_mean": sum(theirs) / len(theirs)})
    return pd.DataFrame(rows)


def epoch_lag(path: Path, *, tolerance: float = EPOCH_TOLERANCE, trust: str = "epoch",
              boot: int = 500) -> dict:
    """Every estimator on Epoch's file: record lags, frontier distance, threshold crossings."""
    from openvsclosed.report.catchup import lag_estimates

    points = epoch_points(path, trust=trust)
    lags = lag_table(points, tolerance=tolerance, cutoff=EPOCH_PUBLISHED)
    return {"points": points, "records": lags, "summary": lag_summary(lags),
            "comparison": epoch_comparison(lags),
            "estimates": lag_estimates(points, as_of=EPOCH_PUBLISHED, tolerance=tolerance,
                                       boot=boot)}


@dataclass
class EpochLagSummary:
    """What `epoch-lag` prints, in order, and the files it wrote."""

    lines: list[str]
    """The estimators' summary, the closed records with their catch-up, ours vs Epoch's."""
    files: list[Path] = field(default_factory=list)


def write_epoch_lag(csv: Path, out_dir: Path | None = None, *,
                    tolerance: float = EPOCH_TOLERANCE, trust: str = "epoch",
                    boot: int = 500) -> EpochLagSummary:
    """The epoch-lag pipeline: Epoch's file -> the tables to print and, with `out_dir`, files.

    Files: epoch_lag.md, one CSV per estimator, epoch_lag_vs_epoch.csv and two PNGs
    (epoch_lag_over_time.png, epoch_frontiers.png, drawn side by side). Raises KeyError or
    ValueError for a file that is not Epoch's trends file (the missing column).
    """
    from openvsclosed.report.forks import ForkPool
    from openvsclosed.report.lagfiles import records_rows, summary_rows, write_lag_files
    from openvsclosed.report.render import to_csv, to_markdown
    from openvsclosed.report.timeplots import frontier_plot
    from openvsclosed.store import write_atomic

    result = epoch_lag(csv, tolerance=tolerance, trust=trust, boot=boot)
    estimates, comparison = result["estimates"], result["comparison"]
    summary = EpochLagSummary([
        to_markdown(summary_rows(estimates["summary"], "Epoch's file")),
        to_markdown(records_rows(result["records"])),
        "Per benchmark, ours vs Epoch's notebook: " + "; ".join(
            f"{r.benchmark} {r.ours} (Epoch {r.epoch})" for r in comparison.itertuples())])
    if out_dir is None:
        return summary
    out_dir = Path(out_dir)
    with ForkPool() as forks:
        summary.files += write_lag_files(estimates, out_dir, "epoch_lag", "Epoch's file",
                                         forks)
        summary.files.append(out_dir / "epoch_lag_vs_epoch.csv")
        write_atomic(summary.files[-1], to_csv(comparison))
        summary.files.append(out_dir / "epoch_frontiers.png")
        forks.submit(frontier_plot, result["points"], summary.files[-1])
    summary.lines.append(f"Wrote {out_dir}/epoch_lag.md, epoch_lag_*.csv, "
                         "epoch_lag_over_time.png, epoch_frontiers.png")
    return summary
