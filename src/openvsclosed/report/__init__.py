"""Records -> tables -> files. Reads only the store: never lm_eval, torch or the config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from openvsclosed.report.render import write_outputs
from openvsclosed.report.tables import gap_by_task, latest_results, leaderboard
from openvsclosed.store import ResultStore


@dataclass
class ReportSummary:
    """The tables a report holds and the files it wrote."""

    results: pd.DataFrame
    leaderboard: pd.DataFrame
    gap: pd.DataFrame
    files: list[Path]


def build_report(results_dir: Path, out_dir: Path) -> ReportSummary:
    """Tabulate a results directory and write every output format into `out_dir`."""
    results = latest_results(ResultStore(results_dir).to_frame())
    board, gap = leaderboard(results), gap_by_task(results)
    files = write_outputs(out_dir, board, gap)
    return ReportSummary(results=results, leaderboard=board, gap=gap, files=files)


__all__ = ["ReportSummary", "build_report", "gap_by_task", "latest_results", "leaderboard"]
