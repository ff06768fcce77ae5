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
                 "assets/frontiers_narrow.png", "assets/gap.png", "assets/frontiers.png",
                 "assets/params.png", "lag_measured.md", "skipped.json"):
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
    # a gap whose interval covers 0 is no lead (issue 17): gsm8k's -5 [-18.9, +8.9] is a tie
    assert head.answers[0].startswith("Measured here: closed leads on 1 of 2 tasks "
                                      "(arc_challenge), open on 0, 1 within noise (gsm8k)")
    assert "by closed records reached" in head.answers[0] and "as of 2024-04-18" in head.answers[0]
    assert "released 2023-03-14 to 2024-04-18" in head.answers[0]
    assert [r[1] for r in head.rows.rows] == ["arc_challenge", "gsm8k"]
    assert "Llama-like 70B (2024-04-18): 61.0" in head.rows.rows[0][2]
    assert head.rows.rows[0][4] == "+10.0 [+0.7, +19.3]"
    assert head.rows.rows[0][5] == "like with like (native)"
    md = (out / "report.md").read_text()
    assert md.index("The answer at a glance") < md.index("frontiers.png") < md.index(
        "# Open vs closed gap per task")
    html = (out / "index.html").read_text()
    assert html.index('id="headline"') < html.index('id="frontiers"') < html.index('id="gap"')


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
    from openvsclosed.report.published import freeze_date

    _, tables, _ = published
    answer = next(a for a in tables.headline.answers if a.startswith("Published scores"))
    assert "task families" in answer and f"as of {freeze_date()}" in answer
    for name in ("closed records reached", "frontier distance", "threshold crossing",
                 "Kaplan-Meier median"):
        assert name in answer
    families = [r[1] for r in tables.headline.rows.rows if r[0] == "reported"]
    assert len(families) == len(set(families))  # one row per family
    # only like-with-like pairs decide a family (issue 17): never a mixed "best way" row
    assert all(r[5].startswith("like with like") for r in tables.headline.rows.rows)


def test_the_answer_rests_on_like_with_like_pairs_and_counts_the_censored(published):
    from openvsclosed.report.published import freeze_date

    _, tables, _ = published
    answer = tables.headline.answer
    assert answer is not None and answer.family_leads
    assert answer.data_through == str(freeze_date()) and "censored" in answer.sentence
    assert sum(answer.leads.values()) == answer.families == len(answer.family_leads)
    points = tables.points
    for lead in answer.family_leads:
        assert lead.leader in ("open", "closed", "tie")
        assert lead.tier in ("independent", "same table", "like with like", "measured")
        # the page draws each family's two frontiers from the points of the series used:
        # the points carry the answer's key exactly (lag.series_keys), in `series_field`
        used = points[points[lead.series_field] == lead.protocol]
        assert set(used["access"]) == {"open", "closed"}, lead.protocol
        assert (used["family"] == lead.family).all()
        assert lead.series_field == ("same_series" if lead.tier == "same table" else "series")
    mixed = tables.gap[tables.gap["protocol"].astype(str).str.startswith("mixed")]
    assert len(mixed) and mixed["comparison"].eq("best way").all()  # kept, flagged
    assert tables.exclusions is not None and "rule" in tables.exclusions


def test_every_number_traces_to_its_source_table_and_protocol(published):
    """pairs.csv and exclusions.csv beside the tables; the exclusions in gap.md and the page."""
    out, tables, _ = published
    pairs = pd.read_csv(out / "pairs.csv")
    assert len(pairs) == len(tables.pairs) > 0
    assert {"family", "tier", "series", "table", "open_model", "closed_model"} <= set(pairs)
    for lead in tables.headline.answer.family_leads:  # each lead is one row of pairs.csv
        assert ((pairs["series"] == lead.protocol) & (pairs["family"] == lead.family)).any()
    left_out = pd.read_csv(out / "exclusions.csv")
    assert list(left_out.columns) == ["rule", "cells", "examples"]
    assert len(left_out) == len(tables.exclusions) > 0
    gap_md = (out / "gap.md").read_text()
    assert "## Published cells left out, by rule" in gap_md
    assert str(left_out["rule"].iloc[0]).split()[0] in gap_md
    page = (out / "index.html").read_text()
    details = page[page.index('<details id="left-out">'):]
    assert "Published cells left out, by rule" in details[:details.index("</details>")]


def test_pairs_and_exclusions_csv_exist_without_published_data(report):
    out, _ = report
    assert (out / "pairs.csv").read_text().startswith("family,task,tier,series")
    assert (out / "exclusions.csv").read_text() == "rule,cells,examples\n"
    page = (out / "index.html").read_text()
    assert "measured points filled squares" in page and "triangles" not in page  # drawn only


def test_the_independent_source_and_the_censored_lag_are_named_in_the_tables():
    from openvsclosed.report.board import leaderboard_rows
    from openvsclosed.report.lagfiles import summary_rows
    from openvsclosed.report.render import lag_rows

    board = pd.DataFrame([{"model": "m", "label": "M", "access": "open", "source": s,
                           "task": "gpqa_diamond", "score": 50.0, "stderr": None,
                           "protocol": "gpqa_diamond · hub protocol", "num_fewshot": 0,
                           "metric": "acc"} for s in ("independent", "measured")])
    table = leaderboard_rows(board)
    independent = next(r for r, c in zip(table.rows, table.classes, strict=True)
                       if "independent" in c)
    assert independent[2] == "independent"  # its protocol is in the cell, not the source
    assert "(gpqa_diamond · hub protocol)" in independent[3]
    summary = pd.DataFrame([{"estimator": "records_km", "mean_months": float("nan"),
                             "median_months": 7.0, "ci_low": 3.0, "ci_high": float("inf"),
                             "n": 5, "censored": 2, "as_of": "2025-01-01", "what": "km",
                             "lower_bound": None}])
    row = summary_rows(summary).rows[0]
    assert row[:4] == ["Closed records reached, Kaplan-Meier median", "—", "3.0 to more",
                       "7.0"]
    lags = pd.DataFrame(columns=["benchmark", "source", "closed_model", "closed_date",
                                 "closed_score", "open_model", "open_date", "open_score",
                                 "lag_months", "censored"])
    note = lag_rows(lags, {"independent": {"km_median": 7.0, "km_ci_low": 3.0,
                                           "km_ci_high": 12.0, "reached": 3,
                                           "not_yet_reached": 2, "mean_months": 4.0,
                                           "km_records": 5, "km_censored": 2,
                                           "median_months": 4.0}}).note
    assert ("independent: closed records reached, Kaplan-Meier median 7.0 months (95% 3.0 "
            "to 12.0) over 5 records, 2 not yet reached (censored)") in note


def test_independent_scores_are_named_apart_and_drawn_from_the_answers_series(tmp_path):
    """Epoch hub rows (a made-up zip in the export's layout) beside the measured store."""
    import json
    import zipfile

    from openvsclosed.report import build_tables, gather_results, latest_results
    from openvsclosed.report.epochhub import hub_rows
    from openvsclosed.report.headline import build_headline
    from openvsclosed.report.validity import add_validity
    from openvsclosed.report.write import write_all

    head = "Model version,mean_score,Best score (across scorers),Release date,Organization\n"
    eci = ("Model version,ECI Score,Release date,Organization,Model accessibility\n"
           "shut-a,140,2025-01-01,ShutCo,API access\n"
           "free-a,130,2025-03-01,FreeCo,Open weights (unrestricted)\n"
           "free-b,131,2025-09-01,FreeCo,Open weights (unrestricted)\n")
    hub = tmp_path / "benchmark_data.zip"
    with zipfile.ZipFile(hub, "w") as z:
        z.writestr("benchmark_data/gpqa_diamond.csv", head + "shut-a,0.70,0.70,2025-01-01,S\n"
                   "free-a,0.50,0.50,2025-03-01,F\nfree-b,0.74,0.74,2025-09-01,F\n")
        z.writestr("benchmark_data/epoch_capabilities_index.csv", eci)
    rows, _ = hub_rows(hub)
    results = add_validity(latest_results(pd.concat(
        [gather_results(FIXTURES / "store", reported=False), rows], ignore_index=True)))
    tables = build_tables(results, boot=20)
    tables.headline = build_headline(tables)
    out = tmp_path / "out"
    write_all(out, tables, "t")
    lead = next(f for f in tables.headline.answer.family_leads if f.family == "GPQA")
    assert (lead.tier, lead.source, lead.leader) == ("independent", "independent", "open")
    assert any(a.startswith("Independent evaluations (Epoch AI") for a in tables.headline.answers)
    board = (out / "leaderboard.md").read_text()
    line = next(x for x in board.splitlines() if x.startswith("| free-b"))
    assert "| independent |" in line and "Epoch AI Benchmarking Hub protocol" in line
    assert "no answer" not in line  # nobody counted its replies: no rates to show
    page = (out / "index.html").read_text()
    assert '<tr class="open independent">' in page and "b-independent" in page
    assert "hub) hollow triangles" in page  # its marker, named in the caption and alt text
    report = json.loads((out / "report.json").read_text())
    drawn = next(p for p in report["frontiers"] if p["family"] == "GPQA")
    assert drawn["source"] == "independent" and drawn["series"] == lead.protocol
    assert drawn["verdict"] == "open"
    assert "Closed records reached, Kaplan-Meier median" in (out / "lag_independent.md"
                                                              ).read_text()


def test_the_terminal_colours_each_verdict_cell_by_its_own_verdict():
    from types import SimpleNamespace

    from rich.console import Console

    from openvsclosed.report.render import claims_rows
    from openvsclosed.report.terminal import rich_table

    verdict = SimpleNamespace(statement="[bold]s[/bold]", who="w", when="2024-01-01",
                              article="a", then_verdict="contradicted", then_evidence="e",
                              verdict="supported", source="reported", evidence="today: e")
    table = rich_table(claims_rows([verdict]), ["Claim", "As of its date", "Today", "Data"])
    cells = {c.header: c._cells[0] for c in table.columns}
    assert cells["As of its date"].style == "red" and cells["Today"].style == "green"
    assert cells["Data"].style == ""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(table)
    assert "[bold]s[/bold]" in console.export_text()  # a claim's text is never markup


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


def test_figures_drawn_in_children_are_the_figures_drawn_in_place(tmp_path):
    from openvsclosed.report.forks import ForkPool
    from openvsclosed.report.plots import gap_plot

    gap = gap_by_task(pd.DataFrame([
        {"task": "t", "model": m, "label": m, "access": a, "source": "measured", "score": s,
         "stderr": 0.02, "n": 100, "metric": "acc,none"}
        for m, a, s in (("o", "open", 0.5), ("c", "closed", 0.6))]))
    with ForkPool(children=2) as forked:
        child = forked.submit(gap_plot, gap, tmp_path / "child.png")
    with ForkPool(children=1) as in_place:
        here = in_place.submit(gap_plot, gap, tmp_path / "here.png")
    assert child.result() == tmp_path / "child.png" and here.result() == tmp_path / "here.png"
    assert (tmp_path / "child.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_a_figure_failing_in_a_child_fails_the_report_there(tmp_path, monkeypatch):
    import threading

    from openvsclosed.report.forks import ForkPool

    # idle threads other tests left behind would make the pool draw in place
    monkeypatch.setattr(threading, "active_count", lambda: 1)

    def full_disk():
        raise OSError(28, "No space left on device")

    forks = ForkPool(children=2)
    figures = [forks.submit(full_disk), forks.submit(len, "abc"), forks.submit(len, "ab")]
    with pytest.raises(OSError, match="No space left"):
        forks.wait()
    assert [f.running for f in figures] == [False] * 3 and figures[2].result() == 2
    import os

    assert ForkPool(children=2).submit(os.getpid).result() != os.getpid()  # drawn in a child


def test_report_reads_each_record_once(tmp_path, monkeypatch):
    from pathlib import Path

    from openvsclosed import recordfile

    reads: list[Path] = []
    real = recordfile.read_bytes

    def counted(path):
        reads.append(path)
        return real(path)

    monkeypatch.setattr(recordfile, "read_bytes", counted)
    monkeypatch.setattr(Path, "read_text", _refuse_records(Path.read_text))
    build_report(FIXTURES / "store", tmp_path / "out", reported=False)
    records = sorted((FIXTURES / "store" / "records").glob("*/*/*.json"))
    assert records and sorted(reads) == records  # each once, none twice


def _refuse_records(read_text):
    def guarded(self, *args, **kwargs):
        assert not (self.suffix == ".json" and "records" in self.parts), f"read again: {self}"
        return read_text(self, *args, **kwargs)
    return guarded
