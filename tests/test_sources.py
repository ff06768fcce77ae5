"""The stored source tables: every cell reaches the comparison or a stated exclusion rule."""

import datetime as dt

import pandas as pd
import pytest
import yaml

from openvsclosed.report.published import freeze_date, load_reported, reported_rows
from openvsclosed.report.sources import (
    RULES,
    SLUG,
    TRACKED,
    SourceError,
    load_sources,
    sources_dir,
)

TABLE = {
    "id": "maker-card", "title": "Made-up card", "url": "https://example.org/card",
    "table": "Evaluation", "kind": "model_card", "publisher": "OpenCo",
    "published": dt.date(2025, 3, 1), "read": dt.date(2026, 12, 1),
    "models": [
        {"id": "open-a", "name": "Open A", "organization": "OpenCo", "access": "open",
         "released": dt.date(2025, 3, 1), "params_b": 70, "reasoning": "on"},
        {"id": "closed-b", "name": "Closed B", "organization": "ShutCo", "access": "closed",
         "released": dt.date(2025, 1, 1), "params_b": None, "reasoning": "on:high"},
    ],
    "rows": [
        {"label": "Quiz", "benchmark": "gpqa_diamond", "version": "", "shots": 0,
         "prompting": "cot", "tools": "none", "scaffold": "none", "metric": "pass@1",
         "scores": {"open-a": 70.0, "closed-b": 72.5},
         "cells": {"closed-b": {"ran_by": "maker", "note": "copied"}}},
        {"label": "Puzzles", "benchmark": "made_up_bench", "version": "", "shots": None,
         "prompting": None, "tools": "none", "scaffold": "none", "metric": "accuracy",
         "scores": {"open-a": 50.0, "closed-b": None}},
        {"label": "Sums", "benchmark": "gsm8k", "version": "", "shots": None,
         "prompting": None, "tools": "none", "scaffold": "none", "metric": "accuracy",
         "scores": {"open-a": 90.0}},
    ],
}


def write(folder, data, freeze="2026-11-30"):
    (folder / f"{data['id']}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "_freeze.yaml").write_text(f"covers_through: {freeze}\nchecked: 2026-12-04\n")
    return folder


def test_every_cell_of_a_table_is_a_row_or_an_exclusion(tmp_path):
    data = load_sources(write(tmp_path, TABLE))
    assert len(data.cells) == 2 * 3  # every model column × every row
    why = data.cells.set_index(["model", "row_label"])["excluded"]
    assert why[("open-a", "Puzzles")] == RULES["not tracked"]
    assert why[("closed-b", "Sums")] == RULES["not reported"]  # absent from scores
    assert pd.isna(why[("open-a", "Quiz")]) and pd.isna(why[("closed-b", "Quiz")])
    cell = data.cells.set_index(["model", "row_label"]).loc[("closed-b", "Quiz")]
    assert (cell["ran_by"], cell["reasoning"], cell["note"]) == ("maker", "on:high", "copied")
    assert data.cells.set_index(["model", "row_label"]).loc[("open-a", "Quiz"), "ran_by"] == \
        "maker"
    assert data.freeze == dt.date(2026, 11, 30)
    table = data.exclusions().set_index("rule")
    assert table.loc[RULES["not reported"], "cells"] == 1  # closed-b × Sums
    assert table.loc[RULES["not tracked"], "cells"] == 2  # both columns of Puzzles


def test_a_model_released_after_the_freeze_is_excluded_by_rule(tmp_path):
    data = load_sources(write(tmp_path, TABLE, freeze="2025-02-01"))
    assert set(data.cells[data.cells["model"] == "open-a"]["excluded"].dropna()) >= {
        RULES["after freeze"]}


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.pop("url"), "url: missing"),
    (lambda d: d.update(kind="blog"), "kind: 'blog'"),
    (lambda d: d["models"][0].update(access="weights"), "models[0].access"),
    (lambda d: d["models"][0].update(id="Open A"), "models[0].id"),
    (lambda d: d["rows"][0]["scores"].update({"ghost": 1.0}), "unknown model 'ghost'"),
    (lambda d: d["rows"][0]["scores"].update({"open-a": "70%"}), "rows[0].scores.open-a"),
    (lambda d: d["rows"][0]["cells"]["closed-b"].update(ran_by="me"), "ran_by"),
    (lambda d: d.update(id="other"), "id: 'other' differs from the file name"),
])
def test_a_malformed_file_is_one_paragraph_naming_file_and_key(tmp_path, change, needle):
    import copy

    data = copy.deepcopy(TABLE)
    change(data)
    (tmp_path / "maker-card.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SourceError) as err:
        load_sources(tmp_path)
    text = str(err.value)
    assert "maker-card.yaml" in text and needle in text and "allowed:" in text
    assert "\n" not in text


def test_metadata_must_agree_across_tables(tmp_path):
    import copy

    other = copy.deepcopy(TABLE)
    other["id"] = "second"
    other["models"][0]["params_b"] = 72
    write(tmp_path, TABLE)
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(other, sort_keys=False))
    with pytest.raises(SourceError, match="open-a.*differ"):
        load_sources(tmp_path)


def test_rows_keep_every_number_and_their_protocol(tmp_path):
    rows = reported_rows(load_sources(write(tmp_path, TABLE)))
    assert len(rows) == 3 and set(rows["source"]) == {"reported"}
    quiz = rows[rows["task"] == "gpqa_diamond"].set_index("model")
    assert quiz.loc["open-a", "score"] == pytest.approx(0.70)
    assert quiz.loc["open-a", "series"] == quiz.loc["closed-b", "series"]  # both maker-run
    assert quiz.loc["open-a", "same_series"] != quiz.loc["closed-b", "same_series"]  # copied
    assert quiz.loc["closed-b", "runner"] == "ShutCo"
    assert "reasoning on" in quiz.loc["closed-b", "series"]


# The real folder: the research tables as stored (grows while the data is being gathered).

def test_every_stored_cell_reaches_the_comparison_or_a_stated_rule():
    data = load_sources()
    files = [p for p in sources_dir().glob("*.yaml") if not p.name.startswith("_")]
    assert files, "the package ships its source tables (data/sources/*.yaml)"
    total = 0
    for path in files:
        raw = yaml.safe_load(path.read_text())
        total += len(raw["models"]) * len(raw["rows"])
        for i, row in enumerate(raw["rows"]):
            for model in raw["models"]:
                cell = data.cells[(data.cells["table"] == raw["id"])
                                  & (data.cells["model"] == model["id"])
                                  & (data.cells["row"] == i)]
                assert len(cell) == 1, (path.name, model["id"], row["label"])
                score = (row.get("scores") or {}).get(model["id"])
                if score is None:
                    assert cell["excluded"].iloc[0] in set(RULES.values())
                elif cell["excluded"].isna().all():
                    assert cell["score"].iloc[0] == pytest.approx(score)
    assert len(data.cells) == total
    assert set(data.cells["excluded"].dropna()) <= set(RULES.values())
    included = load_reported()
    assert len(included) == int(data.cells["excluded"].isna().sum())
    assert set(included["task"]) <= set(TRACKED)


def test_stored_model_metadata_is_consistent_and_ids_valid():
    data = load_sources()
    assert not data.cells.empty, "the package ships its source tables"
    assert data.cells["model"].map(lambda m: bool(SLUG.match(m))).all()
    meta = data.cells.drop_duplicates(["model", "organization", "access", "released",
                                       "params_b"])
    assert not meta["model"].duplicated().any()
    assert set(data.cells["access"]) <= {"open", "closed"}
    assert freeze_date() is not None
    assert data.cells["read"].max() <= dt.datetime.now(dt.timezone.utc).date()


def test_a_model_never_publicly_available_stays_out_of_every_comparison(tmp_path):
    import copy

    table = copy.deepcopy(TABLE)
    table["models"][1]["available"] = False  # e.g. a size whose weights were never released
    data = load_sources(write(tmp_path, table))
    why = data.cells.set_index(["model", "row_label"])["excluded"]
    assert why[("closed-b", "Quiz")] == RULES["never available"]
    assert not (data.included["model"] == "closed-b").any()
    assert (data.exclusions()["rule"] == RULES["never available"]).any()
    table["models"][1]["available"] = "no"
    with pytest.raises(SourceError, match="available"):
        load_sources(write(tmp_path, table))


def test_the_answer_says_which_families_rest_on_an_old_pair():
    from openvsclosed.report.answer import _stale_text
    from openvsclosed.report.headline import FamilyLead

    def lead(family, date):
        return FamilyLead(family=family, leader="tie", gap=0.1, open_model="o",
                          closed_model="c", open_score=1.0, closed_score=1.1, date=date,
                          protocol="p", source="reported")

    text = _stale_text([lead("GSM8K", "2024-09-19"), lead("GPQA", "2026-07-27")], "2026-11-30")
    assert "1 of these rest on a pair over a year older" in text and "GSM8K 2024-09" in text
    assert "GPQA" not in text
    assert _stale_text([lead("GPQA", "2026-07-27")], "2026-11-30") == ""
