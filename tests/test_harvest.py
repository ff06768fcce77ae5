import json
from datetime import datetime, timezone

import numpy as np
import pytest

from openvsclosed.harvest import (
    HarvestError,
    choose_primary,
    harvest_metrics,
    harvest_record,
    leaf_tasks,
    to_float,
)
from openvsclosed.jobs import make_job
from openvsclosed.schema import MetricRecord, ResultRecord, split_metric
from tests.helpers import captured_results, run_config

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2026, 1, 1, 0, 0, 5, tzinfo=timezone.utc)


def record_for(results, task="ovc_toy", metric=None):
    cfg = run_config()
    job = make_job(cfg.models[0], cfg.tasks[1], cfg, None, "0.4.13")
    from openvsclosed.models import model_identity

    return harvest_record(results, task=task, key=job.key, key_fields=job.key_fields,
                          model=model_identity(cfg.models[0]), metric=metric,
                          started_at=T0, finished_at=T1)


def test_to_float_handles_lm_eval_values():
    assert to_float(np.float64(0.25)) == 0.25 and isinstance(to_float(np.float32(1)), float)
    assert to_float("N/A") is None and to_float(float("nan")) is None and to_float(None) is None


def test_metrics_split_name_and_filter_and_pair_stderr():
    entry = {"alias": "x", "acc,none": 0.5, "acc_stderr,none": "N/A",
             "exact_match,strict-match": np.float64(0.1),
             "exact_match_stderr,strict-match": 0.01, "sample_count": {"acc,none": 3}}
    metrics = {(m.name, m.filter): m for m in harvest_metrics(entry, {"acc": True})}
    assert set(metrics) == {("acc", "none"), ("exact_match", "strict-match")}
    assert metrics["acc", "none"].stderr is None and metrics["acc", "none"].higher_is_better
    assert metrics["exact_match", "strict-match"].stderr == 0.01


def test_primary_metric_preference_and_request():
    ms = [MetricRecord(name=n, filter=f, value=0.1) for n, f in
          [("acc", "none"), ("acc_norm", "none"), ("exact_match", "flexible-extract"),
           ("exact_match", "strict-match")]]
    assert choose_primary(ms) == ("acc_norm", "none")
    assert choose_primary(ms[2:]) == ("exact_match", "strict-match")
    assert choose_primary(ms, "exact_match") == ("exact_match", "strict-match")
    assert choose_primary(ms, "exact_match,flexible-extract") == ("exact_match",
                                                                  "flexible-extract")
    with pytest.raises(HarvestError, match="acc_norm,none"):
        choose_primary(ms, "f1")


def test_group_record_sums_leaves_and_keeps_samples():
    rec = record_for(captured_results())
    assert leaf_tasks(captured_results(), "ovc_toy") == ["ovc_toy_mc", "ovc_toy_mc_b"]
    assert rec.n == 12 and (rec.primary_name, rec.primary_filter) == ("acc", "none")
    assert rec.primary_metric == "acc,none"  # lm-eval's label, for display and older callers
    assert rec.metric().value == pytest.approx(0.25)
    assert len(rec.samples) == 12 and {s.task for s in rec.samples} == {"ovc_toy_mc",
                                                                          "ovc_toy_mc_b"}
    assert all("acc" in s.scores and s.doc_hash for s in rec.samples)
    assert rec.data_source["ovc_toy_mc"]["missing_splits"] == ["train"]
    assert rec.duration_s == 5.0 and rec.num_fewshot == 1


def test_leaf_record_and_na_stderr():
    results = captured_results()
    results["results"]["ovc_toy_mc"]["acc_norm_stderr,none"] = "N/A"
    rec = record_for(results, task="ovc_toy_mc")
    assert rec.n == 8 and rec.primary_metric == "acc_norm,none"
    assert rec.metric().stderr is None and rec.metric("acc").stderr > 0


def test_missing_task_is_an_error():
    with pytest.raises(HarvestError, match="no results"):
        record_for(captured_results(), task="absent")


def test_a_record_stores_metric_and_filter_apart_and_an_old_joined_one_still_reads():
    rec = record_for(captured_results(), task="ovc_toy_mc")
    stored = json.loads(rec.model_dump_json())
    assert "primary_metric" not in stored
    assert (stored["primary_name"], stored["primary_filter"]) == ("acc_norm", "none")
    old = {k: v for k, v in stored.items() if k not in ("primary_name", "primary_filter")}
    old |= {"schema_version": 2, "primary_metric": "acc_norm,none"}  # as schema 2 wrote it
    again = ResultRecord.model_validate(old)
    assert (again.primary_name, again.primary_filter) == ("acc_norm", "none")
    assert again.metric() == rec.metric() and again.metric().value is not None
    assert again.key == rec.key and again.key_fields.key() == rec.key_fields.key() == rec.key
    assert again.model_dump(exclude={"schema_version"}) == rec.model_dump(
        exclude={"schema_version"})


def test_metric_lookup_by_name_filter_or_lm_evals_label():
    rec = record_for(captured_results(), task="ovc_toy_mc")
    assert rec.metric("acc", "none") is rec.metric("acc,none") is rec.metric("acc")
    assert rec.metric("acc", "strict-match") is None and rec.metric("f1") is None
    assert split_metric("exact_match,get-answer") == ("exact_match", "get-answer")
    assert split_metric("acc") == ("acc", None)
