"""The small multiples of the two frontiers: one panel per task family, drawn from a table."""

import pandas as pd
import pytest
from matplotlib.image import imread

from openvsclosed.report.frontiers import Panel, frontiers_plot, measure, with_family
from openvsclosed.report.lag import results_points
from tests.site_fixtures import ROWS, answer, results


def test_one_panel_per_family_with_gap_and_lag(tmp_path):
    points = results_points(results(ROWS)).drop(columns=["family", "series"], errors="ignore")
    chart = frontiers_plot(points, [tmp_path / "wide.png", tmp_path / "phone.png"], None,
                           as_of="2025-01-31", columns=(3, 1))
    assert [p.family for p in chart.panels] == ["ARC", "GPQA", "GSM8K"]
    by = {p.family: p for p in chart.panels}
    # ARC: best closed 86 (2024-09-01), best open 84 (2025-01-15): open got there 4.5 months
    # after closed did
    assert by["ARC"].gap == pytest.approx(2.0)
    assert by["ARC"].lag_months == pytest.approx(4.5, abs=0.1)
    assert by["GSM8K"].gap == pytest.approx(13.0)
    assert "closed leads by 2.0 points" in by["ARC"].text()
    assert "open got there 4 months later" in by["ARC"].text()
    wide, phone = imread(tmp_path / "wide.png"), imread(tmp_path / "phone.png")
    assert wide.shape[1] > wide.shape[0] * 0.9  # three panels side by side
    assert phone.shape[0] > 2 * phone.shape[1]  # one column for phones
    for family in ("ARC", "GPQA", "GSM8K"):
        assert family in chart.alt
    assert "closed leads on 3" in chart.alt


def test_open_ahead_has_no_lag_and_one_side_has_no_gap():
    rows = with_family(pd.DataFrame([
        {"benchmark": "t", "model": "c", "access": "closed", "date": "2024-01-01", "score": .5},
        {"benchmark": "t", "model": "o", "access": "open", "date": "2024-06-01", "score": .6}]))
    gap, lag = measure(rows, pd.Timestamp("2024-12-01"))
    assert gap == pytest.approx(-10.0) and lag == 0.0
    assert measure(rows[rows["access"] == "open"], pd.Timestamp("2024-12-01")) == (None, None)
    assert Panel("F", "t", "t", "reported", None, None).text() == "one side only: no gap"


def test_the_answers_series_is_drawn_when_points_carry_one(tmp_path):
    points = results_points(results(ROWS)).drop(columns=["family", "series"], errors="ignore")
    points["series"] = points["benchmark"] + " · main"
    extra = points[points["benchmark"] == "arc_challenge"].assign(
        series="arc_challenge · other", score=lambda d: d["score"] - 0.3,
        date="2025-01-20")  # newer, so the plain rule would pick it
    lead = answer(5.0)
    lead.family_leads[0].protocol = "arc_challenge · main"
    chart = frontiers_plot(pd.concat([points, extra]), [tmp_path / "f.png"], lead)
    arc = next(p for p in chart.panels if p.family == "ARC")
    assert arc.series == "arc_challenge · main" and arc.others == len(extra)


def test_a_same_table_lead_is_drawn_from_its_table_row_found_by_its_exact_key(tmp_path):
    points = results_points(results(ROWS)).drop(columns=["family"], errors="ignore")
    arc = points["benchmark"] == "arc_challenge"
    points["series"] = points["benchmark"] + " · stated"
    points["same_series"] = None
    points.loc[arc, "same_series"] = "arc_challenge · stated · table T, row 1 (ARC) · run by X"
    extra = points[arc].assign(same_series="arc_challenge · stated · table U, row 2 (ARC)",
                               score=lambda d: d["score"] - 0.3, date="2025-01-20")
    lead = answer(5.0)
    lead.family_leads[0].protocol = str(points.loc[arc, "same_series"].iloc[0])
    lead.family_leads[0].series_field = "same_series"
    chart = frontiers_plot(pd.concat([points, extra]), [tmp_path / "f.png"], lead)
    panel = next(p for p in chart.panels if p.family == "ARC")
    assert panel.series == lead.family_leads[0].protocol and panel.others == len(extra)
    assert panel.verdict == "closed" and panel.gap == pytest.approx(2.0)  # the answer's pair
    lead.family_leads[0].protocol = "a key no point carries"  # no guessing by model names
    chart = frontiers_plot(pd.concat([points, extra]), [tmp_path / "g.png"], lead)
    assert next(p for p in chart.panels if p.family == "ARC").verdict is None


def test_no_points_draws_no_axes_and_says_why(tmp_path):
    empty = pd.DataFrame(columns=["benchmark", "model", "access", "date", "score", "source"])
    chart = frontiers_plot(empty, [tmp_path / "f.png"])
    assert chart.panels == [] and "no task family" in chart.alt
    assert imread(tmp_path / "f.png").shape[0] < 120  # a line of text, not empty panels


def test_a_lag_plot_without_any_lag_draws_no_1970_axis(tmp_path):
    from openvsclosed.report.catchup import lag_estimates
    from openvsclosed.report.plots import lag_time_plot

    only_open = results_points(results([r for r in ROWS if r[2] == "open"]))
    estimates = lag_estimates(only_open, boot=5)
    path = lag_time_plot(estimates, tmp_path / "lag.png")
    assert imread(path).shape[0] < 120  # one line saying why, not three empty panels


def test_page_pieces_skipped_claims_labels_leaderboard():
    from types import SimpleNamespace

    from openvsclosed.report.board import leaderboard_rows
    from openvsclosed.report.html import skipped_lines
    from openvsclosed.report.render import claims_rows, fmt_who

    skipped = [{"model": m, "task": t, "reason": f"{k} is not set"}
               for m, k in (("gpt-x", "OPENAI_API_KEY"), ("claude-x", "ANTHROPIC_API_KEY"))
               for t in ("arc", "gsm8k")] + [{"model": "m", "task": "piqa",
                                              "reason": "no chat variant"}]
    assert skipped_lines(skipped) == [
        "4 job(s) need keys: set ANTHROPIC_API_KEY (claude-x), OPENAI_API_KEY (gpt-x), then "
        "run the config again.", "1 job(s): no chat variant (m)."]
    assert fmt_who("GPT-4o (2024-08-06)", "2024-08-06") == "GPT-4o (2024-08-06)"
    assert fmt_who("Llama 3", "2024-04-18") == "Llama 3 (2024-04-18)"
    verdict = SimpleNamespace(statement="s", who="w", when="2024-01-01", article="a",
                              then_verdict="undecidable", then_evidence="e then",
                              verdict="supported", source="reported",
                              evidence="today: e now || as of 2024-01-01: undecidable, e then")
    table = claims_rows([verdict])
    assert table.rows[0][6] == "e now"  # the dated evidence is not repeated
    assert table.classes[0][:2] == ["then-undecidable", "now-supported"]
    board = pd.DataFrame([{"model": "m", "label": "M", "access": "open", "source": "reported",
                           "task": t, "score": s, "stderr": None, "protocol": None}
                          for t, s in (("math", 50.0), ("math500", 70.0), ("gsm8k", 60.0))])
    rows = leaderboard_rows(board)
    assert rows.header == ["Model", "Access", "Source", "MATH", "gsm8k"]
    assert rows.rows[0][3].startswith("math: 50.0") and "; math500: 70.0" in rows.rows[0][3]
