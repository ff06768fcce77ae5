"""The published-scores table: every row sourced, protocols explicit, like with like chosen."""

import pandas as pd

from openvsclosed.report.published import load_reported, pick_published, protocol_of, read_published

NEW_IDS = {"gpt-4.1", "o3", "gpt-5", "claude-3.7-sonnet", "claude-sonnet-4", "claude-opus-4",
           "claude-sonnet-4.5", "gemini-2.5-pro", "gemini-3-pro", "llama-3.1-405b-instruct",
           "llama-4-maverick", "deepseek-v3", "deepseek-r1", "qwen2.5-72b-instruct",
           "qwen3-235b-a22b", "kimi-k2-instruct", "glm-4.5", "mistral-large-2", "gpt-oss-120b",
           "gpt-4o", "claude-3.5-sonnet"}


def test_every_row_has_a_source_a_confidence_and_a_known_or_unknown_shot_count():
    raw = read_published()
    assert raw["source"].str.len().min() > 10
    assert set(raw["confidence"]) <= {"high", "medium", "low"}
    assert set(raw["model_id"]) >= NEW_IDS
    # maj@k rows state their shots, or say in the method that the source does not
    maj = raw[raw["method"].str.contains("maj", case=False)]
    assert (maj["shots"].notna() | maj["method"].str.contains("shots not stated")).all()
    assert pd.to_datetime(raw["source_date"].dropna()).max() <= pd.Timestamp("2026-11-26")


def test_claude_v1_mmlu_comes_from_the_lmsys_blog():
    raw = read_published()
    row = raw[(raw["model_id"] == "claude-v1") & (raw["benchmark"] == "mmlu")].iloc[0]
    assert row["score"] == 75.6 and row["source"].startswith("LMSYS blog 2023-06-22")


def test_protocols_never_turn_unknown_shots_into_zero():
    assert protocol_of(5, "letter choice; macro average") == "5-shot letter choice"
    assert protocol_of(pd.NA, "pass@1") == "?-shot pass@1"
    assert protocol_of(0, "") == "0-shot"


def test_one_row_per_model_and_task_under_the_most_common_protocol():
    raw = pd.DataFrame([
        {"model_id": m, "benchmark": "t", "shots": s, "protocol": p, "confidence": "high",
         "source_date": "2025-01-01"}
        for m, s, p in (("a", 5, "5-shot x"), ("b", 5, "5-shot x"), ("c", 0, "0-shot y"),
                        ("c", 5, "5-shot x"), ("d", 25, "25-shot z"))])
    picked = pick_published(raw).set_index("model_id")["protocol"]
    assert picked.to_dict() == {"a": "5-shot x", "b": "5-shot x", "c": "5-shot x",
                                "d": "25-shot z"}
    reported = load_reported()
    assert not reported.duplicated(["model", "task"]).any()
    assert reported["protocol"].str.contains("-shot").all()
