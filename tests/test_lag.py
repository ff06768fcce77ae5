"""The lag estimators: one hand-built frontier per rule, then Epoch AI's own data file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.report.catchup import distance_table, lag_estimates, threshold_table
from openvsclosed.report.epoch import EPOCH_REPORTED, epoch_lag, epoch_points
from openvsclosed.report.lag import (
    DAYS_PER_MONTH,
    EPOCH_PUBLISHED,
    frontier,
    lag_summary,
    lag_table,
    results_points,
    to_nats,
)
from tests.conftest import _required

EPOCH_CSV = Path(__file__).parent.parent.parent / "shared" / "reference" / \
    "epoch_open_model_trends.csv"
CUTOFF = pd.Timestamp("2024-01-01")


def points(rows):
    return pd.DataFrame(rows, columns=["benchmark", "model", "access", "date", "score"])


def months(a, b):
    return (pd.Timestamp(b) - pd.Timestamp(a)).days / DAYS_PER_MONTH


def lags(rows, **kw):
    return lag_table(points(rows), cutoff=CUTOFF, **kw).set_index("closed_model")


def test_frontier_keeps_only_new_bests_and_the_best_of_a_day():
    pts = points([("b", "x", "closed", "2023-01-01", 0.5),
                  ("b", "y", "closed", "2023-02-01", 0.4),
                  ("b", "w", "closed", "2023-03-01", 0.55),
                  ("b", "z", "closed", "2023-03-01", 0.6)])
    assert frontier(pts.assign(date=pd.to_datetime(pts["date"])))["model"].tolist() == ["x", "z"]


def test_rule_1_scores_compare_as_error_rate_nats():
    assert to_nats(pd.Series([0.0, 0.5]))[1] == pytest.approx(np.log(2))
    # the same 0.005 below a record: inside the tolerance at 40%, far outside it at 90%
    low = lags([("b", "C", "closed", "2023-01-01", 0.400), ("b", "O", "open", "2023-05-01", 0.395)])
    high = lags([("b", "C", "closed", "2023-01-01", 0.900),
                 ("b", "O", "open", "2023-05-01", 0.895)])
    assert low.loc["C", "open_model"] == "O" and not low.loc["C", "censored"]
    assert high.loc["C", "censored"]


def test_rule_2_tolerance_below_and_the_strict_rule():
    rows = [("b", "C", "closed", "2023-01-01", 0.60), ("b", "O1", "open", "2023-03-01", 0.596),
            ("b", "O2", "open", "2023-09-01", 0.61)]
    assert lags(rows).loc["C", "open_model"] == "O1"  # 0.01 nats below: within 0.02
    strict = lags(rows, tolerance=0.0).loc["C"]
    assert strict["open_model"] == "O2"
    assert strict["lag_months"] == pytest.approx(months("2023-01-01", "2023-09-01"))


def test_rule_3_a_marginal_closed_record_is_not_a_new_one():
    # C2 is 0.015 nats above C1 (the same level); O is 0.015 nats below C1 and 0.03 below C2
    rows = [("b", "C1", "closed", "2023-01-01", 0.800), ("b", "C2", "closed", "2023-02-01", 0.803),
            ("b", "O", "open", "2023-06-01", 0.797)]
    table = lags(rows)
    assert table.index.tolist() == ["C1"] and table.loc["C1", "open_model"] == "O"
    every_gain = lags(rows, min_gain=0.0)
    assert every_gain.index.tolist() == ["C1", "C2"] and every_gain.loc["C2", "censored"]


def test_rule_4_only_open_models_released_after_the_record_catch_up():
    early = [("b", "O-early", "open", "2022-06-01", 0.70), ("b", "C", "closed", "2023-01-01", 0.65)]
    assert lags(early).empty  # the open side was already there: not a lead
    later = [("b", "C", "closed", "2023-01-01", 0.80), ("b", "O-old", "open", "2022-01-01", 0.50),
             ("b", "O-new", "open", "2023-06-01", 0.81)]
    row = lags(later).loc["C"]
    assert row["open_model"] == "O-new" and row["lag_months"] > 0


def test_rule_5_one_open_release_closes_one_lag():
    rows = [("b", "C1", "closed", "2023-01-01", 0.70), ("b", "C2", "closed", "2023-04-01", 0.75),
            ("b", "C3", "closed", "2023-06-01", 0.90), ("b", "O", "open", "2023-08-01", 0.76)]
    table = lags(rows)
    assert table.index.tolist() == ["C1", "C3"]
    assert table.loc["C1", "lag_months"] == pytest.approx(months("2023-01-01", "2023-08-01"))


def test_rule_6_unreached_records_are_censored_at_the_stated_date():
    rows = [("b", "C1", "closed", "2023-01-01", 0.80), ("b", "C2", "closed", "2023-07-01", 0.90),
            ("b", "O1", "open", "2023-03-01", 0.70), ("b", "O2", "open", "2023-07-02", 0.80)]
    table = lags(rows)
    assert table.loc["C1", "lag_months"] == pytest.approx(months("2023-01-01", "2023-07-02"))
    assert table.loc["C2", "censored"]
    assert table.loc["C2", "lag_months"] == pytest.approx(months("2023-07-01", CUTOFF))
    summary = lag_summary(table.reset_index())
    assert (summary["reached"], summary["not_yet_reached"]) == (1, 1)
    assert summary["mean_months"] == pytest.approx(months("2023-01-01", "2023-07-02"))


FRONTIERS = [  # closed leads by 6 months, then open catches up at the end
    ("b", "C1", "closed", "2023-01-01", 0.50), ("b", "C2", "closed", "2023-07-01", 0.70),
    ("b", "O1", "open", "2023-02-01", 0.40), ("b", "O2", "open", "2023-07-01", 0.50),
    ("b", "O3", "open", "2024-01-01", 0.70),
]


def test_distance_is_how_long_ago_the_closed_side_was_at_the_open_level():
    table = distance_table(points(FRONTIERS), pd.Timestamp("2024-03-01")).set_index("date")
    # 2023-08-01: open at 0.50, which the closed side reached on 2023-01-01
    assert table.loc["2023-08-01", "lag_months"] == pytest.approx(months("2023-01-01",
                                                                         "2023-08-01"))
    assert table.loc["2024-02-01", "caught_up"] and table.loc["2024-02-01", "lag_months"] == 0
    # 2023-03-01: open at 0.40 is below the closed side's first score: a censored lower bound
    assert table.loc["2023-03-01", "censored"]


def test_distance_caught_up_when_the_difference_is_not_significant():
    rows = points([("b", "C", "closed", "2023-01-01", 0.62),
                   ("b", "O", "open", "2023-02-01", 0.60)])
    noisy = distance_table(rows.assign(stderr=0.02), pd.Timestamp("2023-06-01"))
    sharp = distance_table(rows.assign(stderr=0.001), pd.Timestamp("2023-06-01"))
    assert noisy["caught_up"].all() and not sharp["caught_up"].any()


def test_threshold_crossing_every_five_points():
    table = threshold_table(points(FRONTIERS), pd.Timestamp("2024-03-01")).set_index("threshold")
    # 0.45 and 0.50: closed crossed 2023-01-01... but its first score is 0.50, so only
    # thresholds above 0.50 are observed crossings for the closed side
    assert table.index.tolist() == [0.55, 0.6, 0.65, 0.7]
    assert table.loc[0.55, "lag_months"] == pytest.approx(months("2023-07-01", "2024-01-01"))
    censored = threshold_table(points(FRONTIERS[:-1]), pd.Timestamp("2024-03-01"))
    assert censored["censored"].all()
    assert censored["lag_months"].iloc[0] == pytest.approx(months("2023-07-01", "2024-03-01"))


def test_estimates_on_measured_rows_with_a_bootstrap_interval():
    rows = pd.DataFrame([
        {"task": t, "label": m, "access": a, "released": d, "score": s, "stderr": 0.01,
         "source": "measured"}
        for t in ("t1", "t2")
        for m, a, d, s in (("C1", "closed", "2023-01-01", 0.6), ("C2", "closed", "2023-09-01", 0.8),
                           ("O1", "open", "2023-02-01", 0.5), ("O2", "open", "2023-06-01", 0.62),
                           ("O3", "open", "2024-03-01", 0.81))])
    est = lag_estimates(results_points(rows), pd.Timestamp("2024-06-01"), boot=60)
    summary = est["summary"].set_index("estimator")
    assert summary.loc["records", "mean_months"] == pytest.approx(
        (2 * months("2023-01-01", "2023-06-01") + 2 * months("2023-09-01", "2024-03-01")) / 4)
    low, high = summary.loc["records", ["ci_low", "ci_high"]]
    assert np.isfinite([low, high]).all() and low <= high
    assert summary.loc["distance", "n"] == 2  # one window mean per task


@pytest.fixture(scope="module")
def epoch():
    if not EPOCH_CSV.is_file():
        _required("../shared/reference beside the checkout")
    return epoch_lag(EPOCH_CSV, boot=100)


def test_epoch_per_benchmark_lags_reproduce_their_notebook(epoch):
    for bench, theirs in EPOCH_REPORTED.items():
        records = epoch["records"]
        ours = records[(records["benchmark"] == bench) & ~records["censored"]]["lag_months"]
        # their months are days / 365 * 12, ours days / 30.44: equal to the printed decimal
        assert [round(x, 1) for x in ours] == pytest.approx(theirs, abs=0.051)
    mmlu = epoch["records"].set_index("closed_model").loc["GPT-4 (original)"]
    assert mmlu["open_model"] == "Llama 3.1 405B"  # 2023-03-15 -> 2024-07-23


def test_epoch_pooled_results_by_estimator(epoch):
    # measured here 2026-11-26 on BBH, GPQA and MMLU (Epoch's 13 lags add GSM1k: mean 13)
    summary = lag_summary(epoch["records"])
    assert (summary["reached"], summary["not_yet_reached"]) == (10, 6)
    assert summary["mean_months"] == pytest.approx(14.5, abs=0.05)
    assert summary["median_months"] == pytest.approx(16.4, abs=0.05)
    est = epoch["estimates"]["summary"].set_index("estimator")
    assert est.loc["distance", "mean_months"] == pytest.approx(4.7, abs=0.05)
    assert est.loc["thresholds", "mean_months"] == pytest.approx(7.9, abs=0.05)
    assert (est.loc["thresholds", "n"], est.loc["thresholds", "censored"]) == (25, 4)
    assert est.loc["records", "ci_low"] < 14.5 < est.loc["records", "ci_high"]


def test_fine_tunes_and_their_early_dates_are_dropped():
    if not EPOCH_CSV.is_file():
        _required("../shared/reference beside the checkout")
    pts = epoch_points(EPOCH_CSV)
    assert not pts["model"].str.contains("Flan").any() and "U-PaLM" not in set(pts["model"])
    assert pts["date"].min() >= pd.Timestamp("2019-10-23")
    assert (lag_table(pts, cutoff=EPOCH_PUBLISHED)["lag_months"] > 0).all()  # no spurious 0


def test_trusted_only_drops_the_suspect_rows_and_keeps_the_rest():
    if not EPOCH_CSV.is_file():
        _required("../shared/reference beside the checkout")
    raw = pd.read_csv(EPOCH_CSV)
    suspect = set(raw[raw["Trust in benchmark results"] == -1]["System"])
    unchecked = set(raw[raw["Trust in benchmark results"] == 0]["System"])
    strict = epoch_points(EPOCH_CSV, trusted_only=True)
    assert not suspect & set(strict["model"]) and "Llama 3.1 405B" in set(strict["model"])
    assert "GPT-4 (original)" in set(strict["model"]) and unchecked & set(strict["model"])
    default = epoch_points(EPOCH_CSV)  # Epoch's rule: BBH keeps suspect rows, MMLU drops them
    assert "Falcon 180B" in set(default.query("benchmark == 'BBH'")["model"])
    assert "Falcon 180B" not in set(default.query("benchmark == 'MMLU'")["model"])
    bbh = lag_table(strict, cutoff=EPOCH_PUBLISHED).query("benchmark == 'BBH' and not censored")
    assert bbh["open_model"].tolist() == ["GPT-NeoX 20B", "ChatGLM3-6B"]


def test_epoch_lag_command(tmp_path):
    if not EPOCH_CSV.is_file():
        _required("../shared/reference beside the checkout")
    result = CliRunner().invoke(app, ["epoch-lag", str(EPOCH_CSV), "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "GPT-4 (original)" in (tmp_path / "epoch_lag.md").read_text()
    for name in ("epoch_frontiers.png", "epoch_lag_over_time.png", "epoch_lag_summary.csv",
                 "epoch_lag_thresholds.csv", "epoch_lag_distance.csv"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "epoch_lag_over_time.png").read_bytes()[:4] == b"\x89PNG"


def test_kaplan_meier_counts_censored_records_and_states_a_lower_bound():
    from openvsclosed.report.lag import kaplan_meier, km_summary

    # by hand: lags 2, 4, (6 censored), 8, (10 censored): S = .8, .6, .6*(1/2) = .3 -> median 8
    lags = pd.DataFrame({"lag_months": [2.0, 4.0, 6.0, 8.0, 10.0],
                         "censored": [False, False, True, False, True]})
    curve = kaplan_meier(lags["lag_months"], ~lags["censored"])
    assert curve["survival"].tolist() == pytest.approx([0.8, 0.6, 0.3])
    km = km_summary(lags, boot=200)
    assert km["median"] == 8.0 and km["censored"] == 2 and km["lower_bound"] is None
    assert km["ci_low"] <= 8.0 <= km["ci_high"]
    # the reached-only mean (14/3) is below the censoring-aware median: it was biased down
    assert lags[~lags["censored"]]["lag_months"].mean() < km["median"]
    # most records unreached: the median is not estimable; the lower bound is stated
    mostly = pd.DataFrame({"lag_months": [3.0, 12.0, 15.0], "censored": [False, True, True]})
    km = km_summary(mostly, boot=50)
    assert km["median"] is None and km["lower_bound"] == 15.0


def test_a_series_is_followed_only_to_its_own_last_release():
    pts = pd.DataFrame({"benchmark": "t", "model": ["c", "o"], "access": ["closed", "open"],
                        "date": ["2024-01-01", "2024-03-01"], "score": [0.9, 0.5]})
    at_data_date = lag_table(pts, cutoff=pd.Timestamp("2026-01-01"))
    at_series_end = lag_table(pts, cutoff=pd.Timestamp("2026-01-01"), series_end=True)
    assert at_data_date["lag_months"].iloc[0] > 23
    assert at_series_end["lag_months"].iloc[0] == pytest.approx(60 / DAYS_PER_MONTH, abs=0.01)


def test_a_record_never_followed_is_not_counted_as_censored():
    from openvsclosed.report.lag import km_summary

    lags = pd.DataFrame({"lag_months": [2.0, 0.0, 5.0], "censored": [False, True, True]})
    km = km_summary(lags, boot=20)
    assert km["records"] == 2 and km["censored"] == 1


def test_write_epoch_lag_returns_what_to_print_and_the_files(tmp_path):
    from openvsclosed.report.epoch import write_epoch_lag

    if not EPOCH_CSV.is_file():
        _required("../shared/reference beside the checkout")
    printed = write_epoch_lag(EPOCH_CSV, boot=100)
    assert printed.files == [] and len(printed.lines) == 3
    assert "Records (Epoch 2024)" in printed.lines[0] and "GPT-4 (original)" in printed.lines[1]
    assert printed.lines[2].startswith("Per benchmark, ours vs Epoch's notebook: ")
    written = write_epoch_lag(EPOCH_CSV, tmp_path / "out", boot=100)
    assert written.lines[:3] == printed.lines and "epoch_frontiers.png" in written.lines[3]
    names = sorted(p.name for p in written.files)
    assert names == sorted(p.name for p in (tmp_path / "out").iterdir())
    assert {"epoch_lag.md", "epoch_lag_vs_epoch.csv", "epoch_frontiers.png",
            "epoch_lag_over_time.png"} <= set(names)
    assert (tmp_path / "out" / "epoch_frontiers.png").read_bytes()[:4] == b"\x89PNG"
