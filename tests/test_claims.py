"""Claim verdicts on a small hand-built table."""

from pathlib import Path

import pandas as pd

from openvsclosed.report.claims import (
    CONTRADICTED,
    SUPPORTED,
    UNKNOWN,
    judge_claims,
    load_claims,
)

ROWS = [  # model, access, released, params_b, task, score (fraction)
    ("big-closed", "closed", "2023-03-01", None, "t1", 0.90),
    ("big-closed", "closed", "2023-03-01", None, "t2", 0.80),
    ("big-closed", "closed", "2023-03-01", None, "t3", 0.70),
    ("old-open", "open", "2023-02-01", 65, "t1", 0.60),
    ("old-open", "open", "2023-02-01", 65, "t2", 0.50),
    ("old-open", "open", "2023-02-01", 65, "t3", 0.40),
    ("new-open", "open", "2024-04-01", 70, "t1", 0.92),
    ("new-open", "open", "2024-04-01", 70, "t2", 0.78),
    ("new-open", "open", "2024-04-01", 70, "t3", 0.75),
]


def table(source="reported"):
    return pd.DataFrame([{"model": m, "label": m, "access": a, "released": r, "params_b": p,
                          "task": t, "score": s, "source": source} for m, a, r, p, t, s in ROWS])


def judge(predicate, params, frame=None):
    claim = {"id": "c", "article": "a.txt", "who": "w", "when": "2024-01-01",
             "statement": "s", "predicate": predicate, "params": params}
    return judge_claims([claim], table() if frame is None else frame)[0]


def test_head_to_head():
    v = judge("a_beats_b_on_most", {"a": "new-open", "b": "big-closed"})
    assert v.verdict == SUPPORTED and v.evidence.startswith("2/3 tasks won")
    assert v.source == "reported"
    assert judge("a_beats_b_on_most", {"a": "old-open", "b": "big-closed"}).verdict == CONTRADICTED
    assert judge("a_beats_b_on_most", {"a": "old-open", "b": "nobody"}).verdict == UNKNOWN


def test_reaching_a_reference_by_a_date():
    early = {"reference": "big-closed", "by": "2023-12-31"}
    late = {"reference": "big-closed", "by": "2024-12-31"}
    assert judge("no_open_reaches", early).verdict == SUPPORTED
    assert judge("no_open_reaches", late).verdict == CONTRADICTED
    assert judge("open_reaches", late).verdict == SUPPORTED
    # with 35 points of tolerance the old model "reaches" it on 2 of 3 tasks
    assert judge("no_open_reaches", {**early, "tolerance": 35}).verdict == CONTRADICTED


def test_frontier_shape_claims():
    v = judge("open_wins_only_some", {})  # best open wins t1 and t3: most, not "only some"
    assert v.verdict == CONTRADICTED and v.evidence.startswith("open wins 2/3 (t1, t3)")
    one_win = table().assign(score=lambda d: d["score"].where(
        ~((d["model"] == "new-open") & (d["task"] == "t3")), 0.65))
    assert judge("open_wins_only_some", {}, one_win).verdict == SUPPORTED
    assert judge("open_wins_only_some", {"as_of": "2023-12-31"}).verdict == CONTRADICTED  # none
    assert judge("closed_leads_on_most", {"as_of": "2023-12-31"}).verdict == SUPPORTED
    assert judge("closed_leads_on_most", {}).verdict == CONTRADICTED


def test_gap_narrowing_by_hand():
    v = judge("gap_narrowing", {"from": "2023-06-01", "to": "2024-06-01"})
    # before: gaps 30, 30, 30 -> 30; after: -2, 2, -5 -> -5/3
    assert v.verdict == SUPPORTED and "30.0 pts" in v.evidence and "-1.7 pts" in v.evidence


def test_pound_for_pound_needs_closed_sizes():
    assert judge("pound_for_pound", {}).verdict == UNKNOWN
    sized = table().assign(params_b=lambda d: d["params_b"].fillna(1000))
    assert judge("pound_for_pound", {}, sized).verdict == SUPPORTED


def test_measured_data_decides_before_reported():
    both = pd.concat([table("reported"), table("measured").assign(
        score=lambda d: d["score"].where(d["model"] != "new-open", 0.1))])
    v = judge("open_reaches", {"reference": "big-closed", "by": "2024-12-31"}, both)
    assert v.source == "measured" and v.verdict == CONTRADICTED


def test_project_claims_file_is_well_formed():
    claims = load_claims(Path(__file__).parent.parent / "seeds" / "claims.yaml")
    from openvsclosed.report.claims import PREDICATES

    assert len(claims) >= 7 and len({c["id"] for c in claims}) == len(claims)
    for claim in claims:
        assert claim["predicate"] in PREDICATES
        assert claim["article"].endswith(".txt") and claim["statement"] and claim["who"]
