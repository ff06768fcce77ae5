"""Real lm-eval (`simple_evaluate`, TaskManager, the mirror factory) with the shipped fake LM."""

import pytest
from rich.console import Console

from openvsclosed.executors.local import run_jobs
from openvsclosed.models import load_model
from openvsclosed.plan import plan_jobs
from openvsclosed.runner import LmEvalEvaluator
from openvsclosed.store import ResultStore
from openvsclosed.tasks import build_task_manager
from tests.conftest import TOY_TASKS
from tests.helpers import run_config

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture(scope="module")
def manager(toy_mirror):
    return build_task_manager(toy_mirror, [TOY_TASKS], include_defaults=False)


def run_toy(tmp_path, manager, tasks, **kw):
    cfg = run_config(tasks=tasks, **kw)
    store = ResultStore(tmp_path)
    plan = plan_jobs(cfg, store, env={})
    summary = run_jobs(plan, store, evaluate=LmEvalEvaluator(manager), load_model=load_model,
                       console=QUIET, env={})
    return store, summary


def test_fake_model_through_real_lm_eval_is_deterministic(tmp_path, manager):
    tasks = [{"name": "ovc_toy"}, {"name": "ovc_toy_gen"}]
    store, summary = run_toy(tmp_path / "a", manager, tasks, defaults={"num_fewshot": 1})
    assert summary.exit_code == 0 and len(summary.done) == 4
    again, _ = run_toy(tmp_path / "b", manager, tasks, defaults={"num_fewshot": 1})
    scores = {(r.model.id, r.task): r.metric().value for r in store.records()}
    assert scores == {(r.model.id, r.task): r.metric().value for r in again.records()}
    assert scores["open-a", "ovc_toy"] != scores["open-b", "ovc_toy"]  # seeds differ
    gen = next(r for r in store.records() if r.task == "ovc_toy_gen")
    assert gen.primary_metric == "exact_match,get-answer" and gen.n == 5
    assert gen.samples[0].filtered_resps is not None
    group = next(r for r in store.records() if r.task == "ovc_toy")
    assert group.n == 12 and group.num_fewshot == 1
    assert group.data_source["ovc_toy_mc"]["hub_dataset"] == "ovc-fixtures/toy"


def test_limit_applies_per_subtask(tmp_path, manager):
    store, _ = run_toy(tmp_path, manager, [{"name": "ovc_toy", "limit": 2}])
    assert {r.n for r in store.records()} == {4}


def test_split_missing_from_mirror_fails_with_expected_path(tmp_path, manager, toy_mirror):
    tasks = [{"name": "ovc_toy_missing"}, {"name": "ovc_toy_mc"}]
    store, summary = run_toy(tmp_path, manager, tasks)
    assert len(summary.failed) == 2 and len(summary.done) == 2
    message = store.failures()[0].message
    assert str(toy_mirror / "ovc-fixtures__toy" / "mc" / "validation.parquet") in message


@pytest.fixture(scope="module")
def hellaswag_mirror(tmp_path_factory):
    """Made-up documents in Rowan/hellaswag's layout (the real data is not in the mirror)."""
    import pandas as pd

    root = tmp_path_factory.mktemp("hs-mirror")
    rows = [{"ind": i, "activity_label": "Cooking", "ctx_a": f"A cook heats pan number {i}.",
             "ctx_b": "then the cook", "ctx": f"A cook heats pan number {i}. then the cook",
             "endings": ["adds oil.", "sings to the pan.", "throws it away.", "sleeps."],
             "source_id": "made-up", "split": "val", "split_type": "indomain",
             "label": str(i % 4)} for i in range(6)]
    path = root / "Rowan__hellaswag" / "default" / "validation.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(path, index=False)
    return root


def test_chat_protocol_runs_hellaswag_variant_on_made_up_documents(tmp_path, hellaswag_mirror):
    manager = build_task_manager(hellaswag_mirror, include_defaults=False)
    cfg = run_config(protocol="chat", tasks=[{"name": "hellaswag"}],
                     models=[{"id": "fake-chat", "backend": "fake"}])
    store = ResultStore(tmp_path)
    summary = run_jobs(plan_jobs(cfg, store, env={}), store, evaluate=LmEvalEvaluator(manager),
                       load_model=load_model, console=QUIET, env={})
    assert summary.exit_code == 0, summary.failed
    (record,) = store.records()
    assert record.task == "hellaswag" and record.lm_eval_task == "ovc_hellaswag_chat"
    assert record.key_fields.protocol == "chat" and record.n == 4  # limit 4 from run_config
    assert record.primary_metric == "exact_match,get-answer"
    # the fake model answers "The answer is X." which the filter reads as the letter X
    assert all(s.filtered_resps[0] in "ABCD" for s in record.samples) and record.no_answer == 0
