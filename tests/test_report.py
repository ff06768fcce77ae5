import io
import subprocess
import sys

import pandas as pd
import pytest

from openvsclosed.report import build_report, gap_by_task, latest_results, leaderboard
from openvsclosed.report.render import tex_escape
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "golden"
GOLDEN_FILES = ["headline.md", "leaderboard.md", "leaderboard.csv", "leaderboard.tex", "gap.md",
                "gap.csv", "gap.tex", "models.md", "models.csv", "efficiency.csv"]


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
    for name in ("report.md", "report.json", "index.html", "claims.md", "lag.csv", "headline.md",
                 "assets/gap_over_time.png", "assets/gap.png", "assets/frontiers.png",
                 "assets/params.png", "lag_measured.md"):
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


def test_reported_rows_are_marked_and_never_mixed(published):
    tmp_path, tables, _ = published
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
    assert "Nothing was measured yet" in (tmp_path / "out" / "headline.md").read_text()
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


# --- the headline, the figures and a report that fails whole (issues 8 and 10) ---------------

def _one_model_store(tmp_path, *models):
    """A copy of the fixture store holding only `models` (made-up records)."""
    import shutil

    root = tmp_path / "results"
    for model in models:
        shutil.copytree(FIXTURES / "store" / "records" / model, root / "records" / model)
    return root


def test_headline_answers_first_in_every_format(report):
    out, tables = report
    head = tables.headline
    assert head.answers[0].startswith("Measured here: closed leads on 1 of 2 tasks "
                                      "(arc_challenge), open on 1 (gsm8k)")
    assert "by closed records reached" in head.answers[0] and "as of 2024-04-18" in head.answers[0]
    assert "released 2023-03-14 to 2024-04-18" in head.answers[0]
    assert [r[1] for r in head.rows.rows] == ["arc_challenge", "gsm8k"]
    assert "Llama-like 70B (2024-04-18): 61.0" in head.rows.rows[0][2]
    assert head.rows.rows[0][4] == "+10.0 [+0.7, +19.3]"
    assert head.rows.rows[0][5] == "like with like (native)"
    md = (out / "report.md").read_text()
    assert md.index("The answer at a glance") < md.index("gap_over_time.png") < md.index(
        "# Open vs closed gap per task")
    html = (out / "index.html").read_text()
    assert html.index('id="headline"') < html.index('id="gap-time"') < html.index('id="gap"')


def test_headline_says_how_to_fill_the_measured_side(tmp_path):
    tables = build_report(_one_model_store(tmp_path, "llama-like-70b"), tmp_path / "out",
                          reported=False)
    note = " ".join(tables.headline.notes)
    assert "No closed model was measured" in note
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        assert key in note
    assert "no task has both an open and a closed score" in tables.headline.answers[0]
    assert "No closed model was measured" in (tmp_path / "out" / "headline.md").read_text()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The fixture store with published scores, and the warnings building it raised."""
    import warnings

    out = tmp_path_factory.mktemp("published")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables = build_report(FIXTURES / "store", out, reported=True)
    return out, tables, list(caught)


def test_headline_with_published_scores_is_per_family_with_three_lags(published):
    _, tables, _ = published
    answer = next(a for a in tables.headline.answers if a.startswith("Published scores"))
    assert "task families" in answer and "as of 2025-11-30" in answer
    for name in ("closed records reached", "frontier distance", "threshold crossing"):
        assert name in answer
    families = [r[1] for r in tables.headline.rows.rows if r[0] == "reported"]
    assert len(families) == len({f.split(" (")[0] for f in families})  # one row per family
    assert any(r[5].startswith(("like with like", "best way")) for r in tables.headline.rows.rows)


def test_headline_lists_failed_jobs(tmp_path):
    from datetime import datetime, timezone

    from openvsclosed.schema import FailureRecord
    from openvsclosed.store import ResultStore

    root = _one_model_store(tmp_path, "llama-like-70b")
    ResultStore(root).record_failure(FailureRecord(
        key="k9", model_id="gpt-x", task="gsm8k", error_type="ApiError", message="HTTP 500",
        at=datetime.now(timezone.utc)))
    tables = build_report(root, tmp_path / "out", reported=False)
    assert any("1 job(s) failed" in n and "gpt-x × gsm8k (ApiError)" in n
               for n in tables.headline.notes)


@pytest.mark.parametrize("which", ["report", "published"])
def test_terminal_report_fits_100_columns_without_breaking_words(which, request):
    from rich.console import Console

    from openvsclosed.report.terminal import print_report

    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    print_report(console, request.getfixturevalue(which)[1])
    text = console.export_text()
    assert text.index("The answer at a glance") < text.index("Leaderboard")
    assert max(len(line) for line in text.splitlines()) <= 100
    for line in text.splitlines():  # every table fits: its right border is drawn
        if line.startswith(("│", "┃")):
            assert line.rstrip().endswith(("│", "┃")), line
    for word in ("arc_challenge", "winogrande", "Llama-like"):
        assert word in text


def test_models_are_ranked_only_against_the_same_tasks(report):
    models = report[1].models.set_index("model")
    assert models.loc["llama-like-70b", "tasks"] == 3
    assert models.loc["claude-like", "peers"] == 1  # alone on its one task: never ranked
    same = models[models["task_set"] == "arc_challenge gsm8k winogrande"]
    assert sorted(same["rank"]) == list(range(1, len(same) + 1))


def test_cost_comes_from_tokens_never_from_wall_time():
    from openvsclosed.report.cost import efficiency, local_usd

    base = {"label": "L", "access": "open", "source": "measured", "task": "t", "score": 0.5,
            "n": 100, "params_b": 7.0, "cost_usd": None, "duration_s": 3600.0}
    frame = pd.DataFrame([{**base, "model": "timed", "tokens": None},
                          {**base, "model": "counted", "tokens": 50_000.0}])
    eff = efficiency(frame, gpu_hour_usd=2.0).set_index("model")
    assert "timed" not in eff.index  # wall time alone gives no cost
    expected = 1000 * local_usd(50_000, 7.0, 2.0) / 100
    assert eff.loc["counted", "usd_per_1k"] == pytest.approx(expected)
    assert local_usd(1e6, 7.0, 2.0) == pytest.approx(1e6 * 14e9 / (989e12 * 0.4) / 3600 * 2)


def test_gap_plot_draws_a_gap_outside_its_interval(tmp_path):
    from openvsclosed.report.plots import gap_plot

    gap = pd.DataFrame([{"task": "t", "source": "measured", "gap": 5.0, "ci_low": 6.0,
                         "ci_high": 9.0, "best_open": "O", "best_closed": "C",
                         "open_released": None, "closed_released": "2024-01-01",
                         "comparison": "best way", "protocol": "native"}])
    assert gap_plot(gap, tmp_path / "gap.png").read_bytes()[:4] == b"\x89PNG"


def test_figures_raise_no_date_locator_warning(published):
    assert not [w for w in published[2] if "AutoDateLocator" in str(w.message)]


def _invoke_report(*args):
    from typer.testing import CliRunner

    from openvsclosed.cli import app

    return CliRunner().invoke(app, ["report", *map(str, args)], catch_exceptions=False)


@pytest.mark.parametrize(("out", "expected"), [("taken", "is a file"),
                                               ("taken/sub", "cannot use"),
                                               ("x" * 300, "--out: ")])
def test_report_refuses_an_unusable_out(tmp_path, out, expected):
    (tmp_path / "taken").write_text("mine")
    result = _invoke_report(FIXTURES / "store", "--no-reported", "--out", tmp_path / out)
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.parametrize("text", ["- [unclosed", "id: not-a-list\n", "- just a string\n",
                                  "- {id: x}\n", "- {id: x, article: a, who: w, when: 2024-01-01,"
                                  " statement: s, predicate: nope}\n", "\xff\xfe"])
def test_report_refuses_a_malformed_claims_file(tmp_path, text):
    claims = tmp_path / "claims.yaml"
    claims.write_bytes(text.encode("latin-1"))
    result = _invoke_report(FIXTURES / "store", "--no-reported", "--claims", claims,
                            "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "--claims" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_failing_report_leaves_the_old_one_untouched(tmp_path, monkeypatch):
    from openvsclosed.report import ReportError, publish

    out = tmp_path / "out"
    build_report(FIXTURES / "store", out, reported=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "params_plot", broken)
    with pytest.raises(ReportError, match="nothing there was changed"):
        build_report(_one_model_store(tmp_path, "llama-like-70b"), out, reported=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
