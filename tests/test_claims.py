"""Claim verdicts on small hand-built tables: like with like, two dates, categories."""

from pathlib import Path

import pandas as pd

from openvsclosed.report.claims import (
    CONTRADICTED,
    PREDICATES,
    SUPPORTED,
    UNDECIDABLE,
    UNKNOWN,
    category_of,
    judge_claims,
    load_claims,
)

# model, access, released, params_b, task, score, protocol (published rows carry their own)
ROWS = [
    ("big-closed", "closed", "2023-03-01", None, "mmlu", 0.90, "5-shot letter choice"),
    ("big-closed", "closed", "2023-03-01", None, "gsm8k", 0.80, "8-shot chain of thought"),
    ("big-closed", "closed", "2023-03-01", None, "humaneval", 0.70, "0-shot pass@1"),
    ("old-open", "open", "2023-02-01", 65, "mmlu", 0.60, "5-shot letter choice"),
    ("old-open", "open", "2023-02-01", 65, "gsm8k", 0.50, "8-shot chain of thought"),
    ("old-open", "open", "2023-02-01", 65, "humaneval", 0.40, "0-shot pass@1"),
    ("new-open", "open", "2024-04-01", 70, "mmlu", 0.92, "5-shot letter choice"),
    ("new-open", "open", "2024-04-01", 70, "gsm8k", 0.78, "8-shot chain of thought"),
    ("new-open", "open", "2024-04-01", 70, "humaneval", 0.75, "0-shot pass@1"),
]


def table(source="reported", rows=ROWS):
    return pd.DataFrame([{"model": m, "label": m, "access": a, "released": r, "params_b": p,
                          "task": t, "score": s, "source": source, "protocol": proto,
                          "num_fewshot": None} for m, a, r, p, t, s, proto in rows])


def judge(predicate, params, frame=None, when="2025-01-01", as_of="2025-06-30"):
    """`as_of`: the data's date (after the forecasts' deadlines unless a test says otherwise)."""
    claim = {"id": "c", "article": "a.txt", "who": "w", "when": when,
             "statement": "s", "predicate": predicate, "params": params}
    return judge_claims([claim], table() if frame is None else frame, as_of=as_of)[0]


def test_head_to_head_counts_only_like_with_like():
    v = judge("a_beats_b_on_most", {"a": "new-open", "b": "big-closed"})
    assert v.verdict == SUPPORTED and "today: reported: 2/3 tasks won" in v.evidence
    assert v.source == "reported"
    assert judge("a_beats_b_on_most", {"a": "old-open", "b": "big-closed"}).verdict == CONTRADICTED
    # published under different protocols on two of three tasks: nothing left to compare
    mixed = table(rows=[r[:6] + ("0-shot log-likelihood",) if r[0] == "new-open" and
                        r[4] != "humaneval" else r for r in ROWS])
    v = judge("a_beats_b_on_most", {"a": "new-open", "b": "big-closed"}, mixed)
    assert v.verdict == UNKNOWN
    assert "≠ protocol (0-shot log-likelihood vs 5-shot letter choice), not counted" in v.evidence


def test_two_verdicts_as_of_the_claim_and_today():
    # a forecast is undecidable as of its own date (issue 17); today an open model reached it
    v = judge("open_reaches", {"reference": "big-closed", "by": "2024-12-31"}, when="2023-06-01")
    assert (v.then_verdict, v.verdict) == (UNDECIDABLE, SUPPORTED)
    assert "as of 2023-06-01: undecidable yet" in v.evidence and "today: reported" in v.evidence
    assert "so far: reported: closest: old-open" in v.then_evidence


def test_a_forecast_is_undecidable_until_its_deadline_unless_it_already_happened():
    # "no open model reaches it by 2025-06-30": the data run to 2024-04-01, none has reached
    # it as of the claim's date, and new-open reaches it in 2024: contradicted early, today
    v = judge("no_open_reaches", {"reference": "big-closed", "by": "2025-06-30"},
              when="2023-06-01", as_of=None)
    assert v.then_verdict == UNDECIDABLE and v.verdict == CONTRADICTED
    # nothing reaches it yet and the deadline lies after the data: undecidable today too
    slow = table(rows=[r for r in ROWS if r[0] != "new-open"])
    v = judge("no_open_reaches", {"reference": "big-closed", "by": "2025-06-30"}, slow,
              when="2023-06-01", as_of=None)
    assert (v.then_verdict, v.verdict) == (UNDECIDABLE, UNDECIDABLE)
    # a claim about the present (no deadline) is judged at its date as before
    v = judge("closed_leads_on_most", {}, when="2023-06-01")
    assert v.then_verdict == SUPPORTED


def test_closest_is_the_truly_closest_model():
    rows = ROWS[:3] + [  # "aaa-far" sorts first but trails by 40 points; "zzz-near" by 1
        ("aaa-far", "open", "2023-02-01", 7, t, 0.3, p) for t, p in
        (("mmlu", "5-shot letter choice"), ("gsm8k", "8-shot chain of thought"))] + [
        ("zzz-near", "open", "2023-02-01", 7, t, s, p) for t, s, p in
        (("mmlu", 0.89, "5-shot letter choice"), ("gsm8k", 0.79, "8-shot chain of thought"))]
    v = judge("no_open_reaches", {"reference": "big-closed", "by": "2024-12-31"}, table(rows=rows))
    assert v.verdict == SUPPORTED and "closest: zzz-near on 0/2" in v.evidence


def test_tolerance_and_dates_for_reaching():
    early = {"reference": "big-closed", "by": "2023-12-31"}
    assert judge("no_open_reaches", early).verdict == SUPPORTED
    assert judge("no_open_reaches", {**early, "tolerance": 35}).verdict == CONTRADICTED


def test_open_wins_only_some_needs_task_categories():
    assert category_of("humaneval") == "code" and category_of("gsm8k") == "math"
    assert category_of("mmlu_pro") == "knowledge" and category_of("gpqa_diamond") == "reasoning"
    assert category_of("medqa_4options") == "domain" and category_of("made_up") is None
    v = judge("open_wins_only_some", {})  # open wins code and knowledge: 2 of 3 categories
    assert v.verdict == CONTRADICTED and "code 1/1; knowledge 1/1; math 0/1" in v.evidence
    one = table(rows=[r[:5] + (0.65,) + r[6:] if r[0] == "new-open" and r[4] == "humaneval"
                      else r for r in ROWS])
    one = one.assign(score=lambda d: d["score"].where(
        ~((d["model"] == "new-open") & (d["task"] == "mmlu")), 0.85))
    assert judge("open_wins_only_some", {}, table(rows=ROWS[:6])).verdict == CONTRADICTED
    assert judge("open_wins_only_some", {}, one).verdict == CONTRADICTED  # wins nowhere
    math_only = table(rows=[r[:5] + (0.85,) + r[6:] if r[0] == "new-open" and r[4] == "gsm8k"
                            else r for r in ROWS]).assign(score=lambda d: d["score"].where(
        ~((d["model"] == "new-open") & d["task"].isin(["mmlu", "humaneval"])), 0.3))
    assert judge("open_wins_only_some", {}, math_only).verdict == SUPPORTED
    single = table(rows=[r for r in ROWS if r[4] == "mmlu"])
    assert judge("open_wins_only_some", {}, single).verdict == UNKNOWN


def test_frontier_claims_compare_the_whole_closed_frontier():
    as_of = judge("closed_leads_on_most", {"as_of": "2023-12-31"})
    assert as_of.then_verdict == SUPPORTED  # `as_of` holds for the claim's own verdict...
    assert as_of.verdict == CONTRADICTED  # ...and today's verdict reads all the data
    later_closed = table(rows=ROWS + [
        ("newer-closed", "closed", "2024-03-01", None, t, 0.95, p) for t, p in
        (("mmlu", "5-shot letter choice"), ("gsm8k", "8-shot chain of thought"),
         ("humaneval", "0-shot pass@1"))])
    # new-open beats GPT-4-like big-closed on 2/3 but not the whole closed frontier
    assert judge("open_matches_frontier", {"by": "2024-12-31"}).verdict == SUPPORTED
    v = judge("open_matches_frontier", {"by": "2024-12-31"}, later_closed)
    assert v.verdict == CONTRADICTED and "0/3" in v.evidence


def test_gap_narrowing_by_hand_and_without_later_models():
    v = judge("gap_narrowing", {"from": "2023-06-01", "to": "2024-06-01"})
    # before: gaps 30, 30, 30 -> 30; after: -2, 2, -5 -> -5/3
    assert v.verdict == SUPPORTED and "30.0 pts" in v.evidence and "-1.7 pts" in v.evidence
    assert v.then_verdict == SUPPORTED  # the claim's date is after every release here
    early = judge("gap_narrowing", {"from": "2023-06-01", "to": "2024-06-01"}, when="2023-06-01")
    assert early.then_verdict == UNDECIDABLE  # "to" lies after its date: a forecast


def test_moving_target_and_domain_claims():
    assert judge("lag_persists", {}).verdict == CONTRADICTED  # new-open caught up on 2 of 3
    assert judge("lag_persists", {}, when="2023-12-31").then_verdict == SUPPORTED
    assert judge("open_wins_domain", {}).verdict == UNKNOWN
    domain = table(rows=ROWS + [("big-closed", "closed", "2023-03-01", None, "medqa", 0.7,
                                 "0-shot letter choice"),
                                ("new-open", "open", "2024-04-01", 70, "medqa", 0.8,
                                 "0-shot letter choice")])
    assert judge("open_wins_domain", {}, domain).verdict == SUPPORTED


def test_pound_for_pound_needs_closed_sizes():
    assert judge("pound_for_pound", {}).verdict == UNKNOWN
    sized = table().assign(params_b=lambda d: d["params_b"].fillna(1000))
    assert judge("pound_for_pound", {}, sized).verdict == SUPPORTED


def test_measured_data_decides_before_reported():
    measured = table("measured").assign(
        score=lambda d: d["score"].where(d["model"] != "new-open", 0.1),
        protocol="native", num_fewshot=5)
    both = pd.concat([table("reported"), measured])
    v = judge("open_reaches", {"reference": "big-closed", "by": "2024-12-31"}, both)
    assert v.source == "measured" and v.verdict == CONTRADICTED


def test_project_claims_file_is_well_formed():
    claims = load_claims(Path(__file__).parent.parent / "seeds" / "claims.yaml")
    assert len(claims) >= 11 and len({c["id"] for c in claims}) == len(claims)
    for claim in claims:
        assert claim["predicate"] in PREDICATES
        assert claim["article"].endswith(".txt") and claim["statement"] and claim["who"]
    ids = {c["id"] for c in claims}
    assert {"moving-target", "open-match-or-surpass-2024", "open-wins-domain-specific"} <= ids


def test_not_reached_is_never_read_from_missing_evidence():
    # the strongest open model shares one comparable task with the reference and wins it;
    # a weaker one shares two and loses both: "no open model reaches it" is not shown
    rows = [r for r in ROWS if r[0] != "new-open"] + [
        ("new-open", "open", "2024-04-01", 70, "mmlu", 0.92, "5-shot letter choice"),
        ("new-open", "open", "2024-04-01", 70, "gsm8k", 0.85, "0-shot chain of thought")]
    for predicate in ("no_open_reaches", "open_reaches"):
        v = judge(predicate, {"reference": "big-closed", "by": "2024-12-31"}, table(rows=rows))
        assert v.verdict == UNKNOWN, v.evidence
        assert "new-open reaches it on its one comparable task" in v.evidence
    # with the weaker model alone the evidence is real: not reached
    alone = [r for r in ROWS if r[0] != "new-open"]
    v = judge("no_open_reaches", {"reference": "big-closed", "by": "2024-12-31"},
              table(rows=alone))
    assert v.verdict == SUPPORTED
