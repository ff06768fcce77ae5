"""The runner with injected evaluate/load functions: no lm-eval, no model weights."""

import copy

import pytest
from rich.console import Console

from openvsclosed.config import ConfigError
from openvsclosed.plan import plan_jobs
from openvsclosed.runner import run_jobs
from openvsclosed.store import ResultStore
from tests.helpers import captured_results, run_config

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115


class Recorder:
    """Fake evaluate + load_model that remember every call."""

    def __init__(self, fail_tasks=(), fail_models=()):
        self.loads, self.evals = [], []
        self.fail_tasks, self.fail_models = set(fail_tasks), set(fail_models)

    def load_model(self, spec):
        self.loads.append(spec.id)
        if spec.id in self.fail_models:
            raise RuntimeError(f"cannot load {spec.id}")
        return f"lm:{spec.id}"

    def evaluate(self, lm, job):
        self.evals.append((lm, job.task.name))
        if job.task.name in self.fail_tasks:
            raise RuntimeError("evaluation exploded")
        results = copy.deepcopy(captured_results())
        if job.task.name != "ovc_toy":
            results["results"] = {job.task.name: results["results"]["ovc_toy_mc"]}
        return results


def run(store, rec, **plan_kwargs):
    plan = plan_jobs(run_config(), store, env={}, **plan_kwargs)
    return plan, run_jobs(plan, store, evaluate=rec.evaluate, load_model=rec.load_model,
                          console=QUIET, env={})


def test_first_run_evaluates_all_open_jobs_and_loads_each_model_once(tmp_path):
    store, rec = ResultStore(tmp_path), Recorder()
    plan, summary = run(store, rec)
    assert rec.loads == ["open-a", "open-b"]
    assert len(rec.evals) == 4 and summary.exit_code == 0 and len(summary.done) == 4
    assert [r for r, _ in [(j.model.id, why) for j, why in plan.skipped]] == ["closed-c"] * 2
    assert "OVC_TEST_KEY is not set" in plan.skipped[0][1]
    assert len(list(store.records())) == 4


def test_second_run_skips_everything_and_loads_nothing(tmp_path):
    store = ResultStore(tmp_path)
    run(store, Recorder())
    rec = Recorder()
    plan, summary = run(store, rec)
    assert rec.loads == [] and rec.evals == [] and len(plan.finished) == 4
    assert summary.exit_code == 0


def test_force_redoes_finished_jobs(tmp_path):
    store = ResultStore(tmp_path)
    run(store, Recorder())
    rec = Recorder()
    run(store, rec, force=True)
    assert len(rec.evals) == 4


def test_a_model_with_nothing_pending_is_never_loaded(tmp_path):
    store = ResultStore(tmp_path)
    run(store, Recorder(), model_ids=["open-a"])
    rec = Recorder()
    run(store, rec)
    assert rec.loads == ["open-b"]


def test_failing_job_is_recorded_and_others_finish(tmp_path):
    store, rec = ResultStore(tmp_path), Recorder(fail_tasks=["ovc_toy"])
    _, summary = run(store, rec)
    assert summary.exit_code == 1 and len(summary.done) == 2 and len(summary.failed) == 2
    failures = store.failures()
    assert {f.task for f in failures} == {"ovc_toy"} and "exploded" in failures[0].message
    again = Recorder()
    run(store, again)
    assert [t for _, t in again.evals] == ["ovc_toy", "ovc_toy"]  # only the failed ones retry


def test_model_load_failure_fails_only_its_jobs(tmp_path):
    store, rec = ResultStore(tmp_path), Recorder(fail_models=["open-a"])
    _, summary = run(store, rec)
    assert {j.model.id for j, _ in summary.failed} == {"open-a"}
    assert {j.model.id for j in summary.done} == {"open-b"}


def test_filters_and_limit(tmp_path):
    store, rec = ResultStore(tmp_path), Recorder()
    plan, _ = run(store, rec, model_ids=["open-b"], task_names=["ovc_toy_mc"], limit=2)
    assert [(j.model.id, j.task.name, j.key_fields.limit) for j in plan.pending] == [
        ("open-b", "ovc_toy_mc", 2)]
    with pytest.raises(ConfigError, match="--model 'open-z'.*Allowed: open-a, open-b"):
        plan_jobs(run_config(), store, model_ids=["open-z"], env={})
    with pytest.raises(ConfigError, match="--task"):
        plan_jobs(run_config(), store, task_names=["nope"], env={})


def test_closed_model_with_its_key_set_is_planned(tmp_path):
    plan = plan_jobs(run_config(), ResultStore(tmp_path), env={"OVC_TEST_KEY": "x"})
    assert not plan.skipped and {j.model.id for j in plan.pending} == {"open-a", "open-b",
                                                                       "closed-c"}


def test_secrets_never_reach_the_failure_log(tmp_path, capsys):
    """A key inside an error, in any form (raw, repr, JSON-escaped, cut short), is scrubbed
    from the failure log and the terminal before either is written."""
    secret = "sk-secret-1234567890abcdef"

    class Leaky(Recorder):
        def evaluate(self, lm, job):
            raise RuntimeError(f"401 for key {secret} ({secret!r}, " + "x" * 190 + secret + ")")

    store = ResultStore(tmp_path)
    plan = plan_jobs(run_config(), store, env={"OVC_TEST_KEY": secret})
    console = Console(file=(tmp_path / "terminal.txt").open("w"), width=200)
    summary = run_jobs(plan, store, evaluate=Leaky().evaluate, load_model=Leaky().load_model,
                       console=console, env={"OVC_TEST_KEY": secret})
    console.file.close()
    assert summary.failed and store.failures_path.is_file()
    logged = store.failures_path.read_text()
    shown = (tmp_path / "terminal.txt").read_text() + capsys.readouterr().err
    for text in (logged, shown):
        assert "401 for key" in logged
        for cut in range(8, len(secret) + 1):  # not even a long piece of it survives
            assert secret[:cut] not in text and secret[-cut:] not in text
    assert "$OVC_TEST_KEY" in logged
