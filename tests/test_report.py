import subprocess
import sys

import pandas as pd
import pytest

from openvsclosed.report import build_report, gap_by_task, latest_results, leaderboard
from openvsclosed.report.render import tex_escape
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "golden"
GOLDEN_FILES = ["leaderboard.md", "leaderboard.csv", "leaderboard.tex", "gap.md", "gap.csv",
                "gap.tex", "models.md", "models.csv", "efficiency.csv"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, build_report(FIXTURES / "store", out, reported=False)


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_outputs_match_golden_files(report, name, request):
    out, _ = report
    produced = (out / name).read_text()
    golden = GOLDEN / name
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(produced)
    assert produced == golden.read_text(), f"{name} differs; rerun with --update-golden if meant"


def test_every_format_is_written(report):
    out, tables = report
    for name in ("report.md", "report.json", "index.html", "claims.md", "lag.csv",
                 "assets/gap.png", "assets/frontiers.png", "assets/params.png"):
        assert (out / name).is_file(), name
    assert (out / "assets" / "gap.png").read_bytes()[:4] == b"\x89PNG"
    assert "![Gap per task" in (out / "report.md").read_text()


def test_gap_numbers_by_hand(report):
    _, tables = report
    gap = tables.gap.set_index("task")
    arc = gap.loc["arc_challenge"]
    assert (arc["best_open"], arc["best_closed"]) == ("Llama-like 70B", "GPT-like")
    assert arc["gap"] == pytest.approx(10.0)
    se_open, se_closed = (0.61 * 0.39 / 199) ** 0.5 * 100, (0.71 * 0.29 / 199) ** 0.5 * 100
    se = (se_open**2 + se_closed**2) ** 0.5
    assert arc["gap_stderr"] == pytest.approx(se)
    assert (arc["ci_low"], arc["ci_high"]) == pytest.approx((10 - 1.96 * se, 10 + 1.96 * se),
                                                            abs=1e-3)
    assert arc["significant"] and not arc["paired"]
    assert gap.loc["gsm8k", "leader"] == "open" and gap.loc["gsm8k", "gap"] == pytest.approx(-5)
    assert not gap.loc["gsm8k", "significant"]
    assert pd.isna(gap.loc["winogrande", "gap"])  # no closed model measured


def test_paired_bootstrap_used_when_documents_match():
    docs_a = {f"t/{i}/h{i}": float(i % 2) for i in range(40)}
    docs_b = {k: 1.0 for k in docs_a}
    frame = pd.DataFrame([
        {"model": "o", "label": "O", "access": "open", "source": "measured", "task": "t",
         "metric": "acc,none", "score": 0.5, "stderr": 0.08, "n": 40, "doc_scores": docs_a},
        {"model": "c", "label": "C", "access": "closed", "source": "measured", "task": "t",
         "metric": "acc,none", "score": 1.0, "stderr": 0.0, "n": 40, "doc_scores": docs_b},
    ])
    row = gap_by_task(frame).iloc[0]
    assert row["paired"] and row["gap"] == pytest.approx(50.0)
    assert row["ci_low"] < 50 < row["ci_high"] and row["significant"]


def test_reported_rows_are_marked_and_never_mixed(tmp_path):
    tables = build_report(FIXTURES / "store", tmp_path, reported=True)
    assert set(tables.gap["source"]) == {"measured", "reported"}
    for _, row in tables.gap.iterrows():  # a gap row compares one source with itself
        on = tables.results[(tables.results["task"] == row["task"])
                            & (tables.results["source"] == row["source"])]
        assert row["best_open"] is None or row["best_open"] in set(on["label"])
    assert "reported" in (tmp_path / "leaderboard.md").read_text()


def test_latest_result_wins_when_a_store_holds_several():
    frame = pd.DataFrame([
        {"model": "m", "label": "M", "access": "open", "organization": None, "task": "t",
         "metric": "acc,none", "score": s, "stderr": 0.1, "n": 10, "finished_at": when,
         "source": "measured"}
        for s, when in [(0.2, "2026-01-02"), (0.9, "2026-01-01")]
    ])
    assert latest_results(frame)["score"].tolist() == [0.2]
    assert leaderboard(latest_results(frame))["score"].tolist() == [pytest.approx(20.0)]


def test_latex_escaping():
    assert tex_escape("a_b & 5% ± 1") == r"a\_b \& 5\% $\pm$ 1"


def test_report_package_never_imports_lm_eval_torch_or_config():
    code = ("import sys, openvsclosed.report, openvsclosed.report.terminal, "
            "openvsclosed.report.publish; "
            "bad = [m for m in ('lm_eval', 'torch', 'openvsclosed.config', 'transformers') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_empty_store_reports_nothing_yet(tmp_path):
    tables = build_report(tmp_path, tmp_path / "out", reported=False)
    assert "No results yet" in (tmp_path / "out" / "leaderboard.md").read_text()
    assert tables.gap.empty and (tmp_path / "out" / "gap.csv").is_file()


def test_report_lists_failed_jobs_and_skips_unreadable_records(tmp_path):
    from datetime import datetime, timezone

    from typer.testing import CliRunner

    from openvsclosed.cli import app
    from openvsclosed.schema import FailureRecord
    from openvsclosed.store import ResultStore

    store = ResultStore(tmp_path / "results")
    store.record_failure(FailureRecord(key="k1", model_id="gpt-x", task="arc_easy",
                                       error_type="ApiError", message="HTTP 500 from server",
                                       at=datetime.now(timezone.utc)))
    broken = tmp_path / "results" / "records" / "m" / "t" / "abc.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{truncated")
    result = CliRunner().invoke(app, ["report", str(tmp_path / "results"), "--no-reported",
                                      "--out", str(tmp_path / "rep")], catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "1 job(s) failed" in text and "gpt-x × arc_easy: ApiError" in text
    assert "abc.json: not a readable result file" in text and "Every job so far failed" in text
