import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from openvsclosed.report import build_report, gap_by_task, leaderboard
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "golden"
GOLDEN_FILES = ["leaderboard.md", "leaderboard.csv", "gap.md", "gap.csv", "report.json"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, build_report(FIXTURES / "store", out)


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_outputs_match_golden_files(report, name, request):
    out, _ = report
    produced = (out / name).read_text()
    golden = GOLDEN / name
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(produced)
    assert produced == golden.read_text(), f"{name} differs; rerun with --update-golden if meant"


def test_gap_numbers_by_hand(report):
    _, summary = report
    gap = summary.gap.set_index("task")
    arc = gap.loc["arc_challenge"]
    assert (arc["best_open"], arc["best_closed"]) == ("Llama-like 70B", "GPT-like")
    assert arc["gap"] == pytest.approx(10.0)
    se_open, se_closed = (0.61 * 0.39 / 199) ** 0.5 * 100, (0.71 * 0.29 / 199) ** 0.5 * 100
    assert arc["gap_stderr"] == pytest.approx((se_open**2 + se_closed**2) ** 0.5)
    assert gap.loc["gsm8k", "leader"] == "open" and gap.loc["gsm8k", "gap"] == pytest.approx(-5)
    assert pd.isna(gap.loc["winogrande", "gap"])  # no closed model measured


def test_latest_result_wins_when_a_store_holds_several():
    frame = pd.DataFrame([
        {"model": "m", "label": "M", "access": "open", "organization": None, "task": "t",
         "metric": "acc,none", "score": s, "stderr": 0.1, "n": 10, "finished_at": when}
        for s, when in [(0.2, "2026-01-02"), (0.9, "2026-01-01")]
    ])
    from openvsclosed.report import latest_results

    assert latest_results(frame)["score"].tolist() == [0.2]
    assert leaderboard(latest_results(frame))["score"].tolist() == [pytest.approx(20.0)]
    assert gap_by_task(latest_results(frame)).loc[0, "best_closed"] is None


def test_report_package_never_imports_lm_eval_torch_or_config():
    code = ("import sys, openvsclosed.report, openvsclosed.report.terminal; "
            "bad = [m for m in ('lm_eval', 'torch', 'openvsclosed.config', 'transformers') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_empty_store_reports_nothing_yet(tmp_path):
    summary = build_report(tmp_path, tmp_path / "out")
    assert "No results yet" in (tmp_path / "out" / "leaderboard.md").read_text()
    assert summary.gap.empty and Path(tmp_path / "out" / "gap.csv").is_file()
