"""A measurement that did not happen is not a score: rates beside scores, invalid results out."""

import json

import pandas as pd
import pytest

from openvsclosed.report import gap_by_task
from openvsclosed.report.leads import family_leads, series_pairs
from openvsclosed.report.validity import NO_ANSWER_LIMIT, add_validity, invalid_note


def frame(no_answer_closed):
    return pd.DataFrame([
        {"model": "o", "label": "Open", "access": "open", "source": "measured", "task": "mmlu",
         "metric": "acc,none", "score": 0.6, "stderr": 0.05, "n": 40, "released": "2025-01-01",
         "protocol": "chat", "num_fewshot": 0, "no_answer": 1, "truncated": 0, "refused": 0},
        {"model": "c", "label": "Closed", "access": "closed", "source": "measured",
         "task": "mmlu", "metric": "acc,none", "score": 0.0, "stderr": 0.0, "n": 40,
         "released": "2024-01-01", "protocol": "chat", "num_fewshot": 0,
         "no_answer": no_answer_closed, "truncated": 30, "refused": 2},
    ])


def test_rates_sit_beside_the_score_and_most_no_answers_make_it_invalid():
    rows = add_validity(frame(40)).set_index("model")
    assert rows.loc["c", "no_answer_rate"] == pytest.approx(1.0)
    assert rows.loc["c", "truncated_rate"] == pytest.approx(0.75)
    assert rows.loc["c", "refused_rate"] == pytest.approx(0.05)
    assert not rows.loc["c", "valid"] and rows.loc["o", "valid"]
    assert NO_ANSWER_LIMIT == 0.5
    at_limit = add_validity(frame(20)).set_index("model")
    assert at_limit.loc["c", "valid"]  # exactly half is not "most"


def test_an_invalid_result_never_makes_a_gap_or_a_lead_and_the_note_says_what_to_fix():
    rows = add_validity(frame(40))
    gap = gap_by_task(rows)
    assert gap["gap"].isna().all()  # the closed side did not happen
    assert family_leads(series_pairs(rows)).empty
    note = invalid_note(rows)
    assert "Closed × mmlu (100% no answer, 75% truncated)" in note
    assert "max_gen_toks" in note


def test_unknown_n_stays_unknown():
    rows = add_validity(frame(40).assign(n=[pd.NA, 40]))
    assert pd.isna(rows.loc[0, "no_answer_rate"]) and rows.loc[0, "valid"]


def test_an_imported_file_without_n_shows_n_unknown(tmp_path):
    from openvsclosed.imported import import_lm_eval_file
    from openvsclosed.report import gather_results

    data = {"results": {"arc_easy": {"acc,none": 0.5, "acc_stderr,none": 0.1}},
            "config": {"model": "hf", "model_args": "pretrained=made-up/model"},
            "n-shot": {"arc_easy": 0}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    records = import_lm_eval_file(f"open:{path}", catalog={})
    rows = gather_results(None, reported=False, imported=records)
    assert pd.isna(rows.loc[0, "n"])


def test_a_closed_server_whose_replies_hold_no_answer_says_so_instead_of_open_leads(tmp_path):
    """The issue's new-user trial: a local "gpt-4o" whose replies hold no answer letter."""
    import shutil

    from openvsclosed.report import build_report
    from tests.conftest import FIXTURES

    root = tmp_path / "results"
    for model in ("llama-like-70b", "gpt-like"):
        shutil.copytree(FIXTURES / "store" / "records" / model, root / "records" / model)
    for path in (root / "records" / "gpt-like").rglob("*.json"):
        record = json.loads(path.read_text())
        record["no_answer"] = record["n"]  # every reply without an answer
        for metric in record["metrics"]:
            metric["value"] = 0.0
        path.write_text(json.dumps(record))
    tables = build_report(root, tmp_path / "out", reported=False)
    assert tables.gap["gap"].isna().all()  # no gap rests on a measurement that did not happen
    assert tables.headline.answer is None
    note = " ".join(tables.headline.notes)
    assert "invalid" in note and "GPT-like × arc_challenge (100% no answer" in note
    board = tables.leaderboard.set_index(["model", "task"])
    assert not board.loc[("gpt-like", "arc_challenge"), "valid"]
    assert board.loc[("gpt-like", "arc_challenge"), "no_answer_rate"] == pytest.approx(1.0)
    # the rendered tables say it too: the rates beside the score, "invalid", what to fix
    for name in ("leaderboard.md", "index.html", "leaderboard.tex"):
        text = (tmp_path / "out" / name).read_text()
        assert "invalid" in text, name
        assert "no answer 100" in text and "truncated 0" in text and "refused 0" in text, name
    board_md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "⚠ invalid: 0.0" in board_md and "To fix:" in board_md
    assert "0% no answer/truncated/refused" in board_md  # the valid ones show theirs
    gap_md = (tmp_path / "out" / "gap.md").read_text()
    assert "| arc_challenge | measured |" in gap_md and "GPT-like" not in gap_md
    assert "GPT-like" not in (tmp_path / "out" / "headline.md").read_text().split("> **Note")[0]
    assert "gpt-like" not in set(tables.models["model"])  # an invalid result ranks nobody
