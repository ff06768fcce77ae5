"""The published site: dated snapshots kept, an index that says what changed, a JSON feed."""

import json
import os

import pytest

from openvsclosed.report import ReportError
from openvsclosed.report.site import add_snapshot, build_index, snapshot_date, what_changed
from tests.site_fixtures import NEW_ROW, ROWS, answer, tables_for


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    add_snapshot(root, tables_for(ROWS, answer(8.0)), "Open vs closed", "2026-10-01")
    add_snapshot(root, tables_for([*ROWS, NEW_ROW], answer(5.5, open_leads=1,
                                                           through="2025-06-30")),
                 "Open vs closed", "2026-11-01")
    return root


def test_snapshots_are_kept_and_dated(site):
    for day in ("2026-10-01", "2026-11-01"):
        assert (site / day / "index.html").is_file()
        assert (site / day / "skipped.json").is_file()
        assert json.loads((site / day / "snapshot.json").read_text())["date"] == day


def test_index_names_the_new_model_and_the_moved_lag(site):
    html = (site / "index.html").read_text()
    changed = html[html.index('id="changed"'):html.index('id="history"')]
    assert "What changed since 2026-10-01" in changed
    assert "New models: Open C (open)" in changed
    assert "Lag moved from 8.0 months to 5.5 months (-2.5)" in changed
    assert "ARC: closed → open" in changed
    assert "Data now run to 2025-06-30 (were to 2025-01-31)" in changed
    assert html.index("2026-11-01/index.html") < html.index("2026-10-01/index.html")
    assert "open models trail by about 6 months" in html  # the latest answer leads the page


def test_feed_holds_every_answer_and_pairs_newest_first(site):
    feed = json.loads((site / "feed.json").read_text())
    assert feed["updated"] == "2026-11-01"
    assert [s["date"] for s in feed["snapshots"]] == ["2026-11-01", "2026-10-01"]
    latest = feed["snapshots"][0]
    assert latest["answer"]["lag_months"] == 5.5
    assert [f["family"] for f in latest["answer"]["family_leads"]] == ["ARC", "GSM8K", "GPQA"]
    assert latest["answer"]["family_leads"][0]["leader"] == "open"
    assert "New models: Open C (open)." in latest["what_changed"]
    assert latest["url"] == "2026-11-01/index.html"


def test_a_rebuild_the_same_day_replaces_it_and_without_answer_falls_back(tmp_path):
    add_snapshot(tmp_path, tables_for(ROWS, None), "T", "2026-01-01")
    first = json.loads((tmp_path / "2026-01-01" / "snapshot.json").read_text())
    assert first["answer"]["family_leads"] and first["answer"]["data_through"] == "2025-01-15"
    add_snapshot(tmp_path, tables_for([*ROWS, NEW_ROW], None), "T", "2026-01-01")
    feed = json.loads((tmp_path / "feed.json").read_text())
    assert len(feed["snapshots"]) == 1
    assert "Open C" in {m["model"] for m in feed["snapshots"][0]["models"]}


def test_an_unreadable_snapshot_is_left_out(site, tmp_path):
    (tmp_path / "2026-12-01").mkdir()
    (tmp_path / "2026-12-01" / "snapshot.json").write_text("{broken")
    assert build_index(tmp_path) == []
    assert not (tmp_path / "index.html").exists()


def test_what_changed_with_no_change():
    snap = {"models": [{"model": "M", "access": "open"}],
            "answer": {"lag_months": 4.0, "family_leads": [{"family": "ARC", "leader": "open"}],
                       "data_through": "2025-01-01"}}
    assert what_changed(snap, snap) == ["No new models.", "No family changed its leader.",
                                        "Lag unchanged at 4.0 months."]


def test_snapshot_date_is_checked():
    assert snapshot_date("2026-11-01") == "2026-11-01"
    with pytest.raises(ReportError, match="YYYY-MM-DD"):
        snapshot_date("November")


def _invoke(*args):
    from typer.testing import CliRunner

    from openvsclosed.cli import app

    return CliRunner().invoke(app, [*map(str, args)], catch_exceptions=False,
                              env={"COLUMNS": "80"})


def test_report_site_writes_a_snapshot_from_the_cli(tmp_path):
    from tests.conftest import FIXTURES

    result = _invoke("report", FIXTURES / "store", "--no-reported", "--site", tmp_path / "site",
                     "--snapshot-date", "2026-02-03")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "2026-02-03" / "index.html").is_file()
    assert json.loads((tmp_path / "site" / "feed.json").read_text())["updated"] == "2026-02-03"
    both = _invoke("report", FIXTURES / "store", "--site", tmp_path, "--out", tmp_path / "x")
    assert both.exit_code == 2 and "--site" in both.output


@pytest.mark.parametrize("command", ["report", "epoch-lag"])
def test_help_is_not_cut_at_80_columns(command):
    result = _invoke(command, "--help")
    assert result.exit_code == 0
    assert "…" not in result.output, result.output
    if command == "epoch-lag":
        assert "RESULTS_DIR" not in result.output  # epoch-lag has no results directory
        text = " ".join(result.output.replace("│", " ").split())
        assert "printed and nothing is written" in text


def test_no_file_is_left_in_the_site_root_but_index_and_feed(site):
    assert sorted(p.name for p in site.iterdir() if p.is_file()) == ["feed.json", "index.html"]
    assert all(not p.name.startswith(".") for p in site.iterdir()), os.listdir(site)
