"""Comparability on hand-built cells: reasoning on/off, tools, scaffolds, windows, same table."""

import pandas as pd
import pytest

from openvsclosed.report.leads import family_leads, series_pairs
from openvsclosed.report.protocol import Protocol, comparable, series_key, strength

BASE = {"benchmark": "swe_bench_verified", "version": "", "shots": 0, "prompting": "direct",
        "reasoning": "on", "tools": "bash", "scaffold": "openhands", "metric": "resolved",
        "ran_by": "maker", "table": "t1", "row_label": "SWE"}


def cell(**change):
    return {**BASE, **change}


@pytest.mark.parametrize("change", [
    {"reasoning": "off"}, {"tools": "none"}, {"scaffold": "agentless"}, {"shots": 5},
    {"metric": "pass@1"}, {"ran_by": "independent"}, {"benchmark": "terminal_bench"},
])
def test_any_field_that_differs_breaks_like_with_like(change):
    a, b = cell(), cell(**change, table="t2")
    assert not comparable(a, b) and strength(a, b) is None
    assert series_key(a) != series_key(b)


def test_reasoning_on_never_meets_off_even_in_one_table_row():
    assert not comparable(cell(), cell(reasoning="off"))


def test_effort_does_not_split_a_series():
    a, b = cell(reasoning="on:high"), cell(reasoning="on:xhigh", table="t2")
    assert comparable(a, b) and Protocol.of(a) == Protocol.of(b)


def test_livecodebench_windows_months_apart_are_different_series():
    a = cell(benchmark="livecodebench", version="2024-08..2025-01")
    b = cell(benchmark="livecodebench", version="2025-02..2025-05", table="t2")
    assert not comparable(a, b)


def test_unstated_fields_compare_only_within_one_table_row():
    a, b = cell(shots=None), cell(shots=None)
    assert comparable(a, b) and strength(a, b) == "same table"
    assert not comparable(a, cell(shots=None, table="t2"))
    assert "table t1" in series_key(a)
    assert strength(cell(), cell(table="t2")) == "like with like"


def rows(specs):
    return pd.DataFrame([{
        "model": m, "label": m, "access": acc, "released": rel, "task": task, "score": s,
        "stderr": None, "source": "reported", "series": series, "same_series": same,
        "table": same.split("|")[0] if same else None, "num_fewshot": None,
        "protocol": series} for m, acc, rel, task, s, series, same in specs])


def test_the_answer_counts_like_with_like_only_and_prefers_one_table():
    frame = rows([
        # thinking open vs non-thinking closed: never a pair
        ("open-think", "open", "2025-05-01", "livecodebench", 0.70, "lcb on", None),
        ("closed-plain", "closed", "2025-04-01", "livecodebench", 0.40, "lcb off", None),
        # one table: closed leads by 5
        ("open-a", "open", "2025-03-01", "gpqa_diamond", 0.70, "gpqa x", "t1|gpqa"),
        ("closed-b", "closed", "2025-02-01", "gpqa_diamond", 0.75, "gpqa x", "t1|gpqa"),
        # another maker's table, same stated settings, newer open: open leads across tables
        ("open-c", "open", "2025-06-01", "gpqa_diamond", 0.80, "gpqa x", "t2|gpqa"),
    ])
    pairs = series_pairs(frame)
    assert "LiveCodeBench" not in set(pairs["family"])
    leads = family_leads(pairs).set_index("family")
    gpqa = leads.loc["GPQA"]
    assert gpqa["tier"] == "same table" and gpqa["leader"] == "closed"
    assert gpqa["gap"] == pytest.approx(5.0) and gpqa["table"] == "t1"


def test_a_small_published_gap_is_a_tie():
    frame = rows([("o", "open", "2025-01-01", "mmlu", 0.900, "m", "t|m"),
                  ("c", "closed", "2025-01-01", "mmlu", 0.905, "m", "t|m")])
    assert family_leads(series_pairs(frame)).iloc[0]["leader"] == "tie"


def test_an_old_pair_does_not_decide_a_family_with_a_current_one():
    frame = rows([("o1", "open", "2023-01-01", "hellaswag", 0.9, "h0", "t|h"),
                  ("c1", "closed", "2023-01-01", "hellaswag", 0.8, "h0", "t|h"),
                  ("o2", "open", "2024-06-01", "hellaswag", 0.85, "h10", None),
                  ("c2", "closed", "2024-05-01", "hellaswag", 0.95, "h10", None)])
    lead = family_leads(series_pairs(frame)).iloc[0]
    assert lead["tier"] == "like with like" and lead["leader"] == "closed"
