"""The runner with injected evaluate/load functions: no lm-eval, no model weights."""

import copy

import pytest
from rich.console import Console

from openvsclosed.config import ConfigError
from openvsclosed.executors.local import run_jobs
from openvsclosed.plan import plan_jobs
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


class MeteredLM:
    """A loaded API-like model: a usage meter, and `for_job` calls remembered."""

    def __init__(self, name):
        from openvsclosed.models.usage import UsageMeter

        self.name, self.meter, self.flags = name, UsageMeter(), []

    def for_job(self, private, loopback_only, private_rows=False):
        self.flags.append((private, loopback_only, private_rows))


class Batched(Recorder):
    """`ovc_toy` goes to a provider batch (paid for, not finished); the rest answer at once."""

    def load_model(self, spec):
        super().load_model(spec)
        return MeteredLM(spec.id)

    def evaluate(self, lm, job):
        from openvsclosed.models.batchwait import BatchPending

        if job.task.name == "ovc_toy":
            lm.meter.add(requests=4, spent_usd=0.25, cost_usd=0.25)
            raise BatchPending("2 of 4 requests answered",
                               batches=[f"batch_{job.model.id}: in_progress, 2/4 done"])
        lm.meter.add(requests=4, spent_usd=0.01, cost_usd=0.01)
        return super().evaluate(lm, job)


def test_a_job_waiting_in_a_provider_batch_is_neither_stored_nor_failed(tmp_path):
    store, shown = ResultStore(tmp_path / "r"), tmp_path / "terminal.txt"
    plan = plan_jobs(run_config(), store, env={})
    with shown.open("w") as fh:
        summary = run_jobs(plan, store, evaluate=Batched().evaluate,
                           load_model=Batched().load_model, console=Console(file=fh, width=200),
                           env={})
    assert summary.exit_code == 0 and not summary.failed and len(summary.done) == 2
    assert [(j.model.id, j.task.name, why) for j, why in summary.waiting] == [
        ("open-a", "ovc_toy", "2 of 4 requests answered"),
        ("open-b", "ovc_toy", "2 of 4 requests answered")]
    assert {r.task for r in store.records()} == {"ovc_toy_mc"}  # the waiting ones: no file
    assert not store.failures_path.exists()
    assert summary.spent_usd == pytest.approx(2 * 0.25 + 2 * 0.01)  # paid while waiting counts
    text = shown.read_text()
    assert "… open-a × ovc_toy: waiting in provider batch (2 of 4 requests answered); run the " \
           "same command again to collect" in " ".join(text.split())
    assert "batch_open-b: in_progress, 2/4 done" in text and "✗" not in text
    again = Recorder()
    run(store, again)  # the next run picks the waiting jobs up again
    assert sorted(t for _, t in again.evals) == ["ovc_toy", "ovc_toy"]


def test_each_job_tells_the_model_its_privacy_through_for_job(tmp_path):
    lms = []

    class Remember(Batched):
        def load_model(self, spec):
            lms.append(super().load_model(spec))
            return lms[-1]

    cfg = run_config(tasks=[{"name": "ovc_toy_mc"}, {"name": "ovc_toy", "keep_samples": False}])
    store = ResultStore(tmp_path)
    run_jobs(plan_jobs(cfg, store, env={}), store, evaluate=Remember().evaluate,
             load_model=Remember().load_model, console=QUIET, env={})
    assert lms and all(lm.flags == [(False, False, False), (True, False, False)] for lm in lms)
    assert not hasattr(lms[0], "private")  # the call, not attributes, when the model has it


class ReplayExecutor:
    """Another executor: attempts jobs in reverse order and emits the events by hand."""

    def __init__(self, rec):
        self.rec = rec

    def run(self, plan, store, *, console=None, env=None):
        from openvsclosed.events import JobFinished, ModelLoaded, Status
        from openvsclosed.runner import RunSummary, attempt
        from openvsclosed.sinks import driver_sinks

        summary = RunSummary()
        with driver_sinks(plan, store, summary, console, env) as emit:
            for job in reversed(plan.pending):
                emit(ModelLoaded(job.model))
                emit(Status(job.label))
                lm = self.rec.load_model(job.model)
                emit(JobFinished(job, attempt(job, lm, self.rec.evaluate, env)))
        return summary


def test_any_executor_emitting_events_stores_and_prints_what_the_local_one_does(tmp_path):
    import re

    from openvsclosed.executors import Executor
    from openvsclosed.executors.local import LocalExecutor

    def outputs(executor: Executor, root):
        store, shown = ResultStore(root), root.with_suffix(".txt")
        plan = plan_jobs(run_config(), store, env={})
        with shown.open("w") as fh:
            summary = executor.run(plan, store, console=Console(file=fh, width=200), env={})
        lines = {re.sub(r"\d+\.\d s\)", "s)", line) for line in shown.read_text().splitlines()
                 if line[:1] in "✓✗-…"}  # the job lines (the bar's last state aside)
        records = {(r.model.id, r.task, r.key, tuple((m.name, m.value) for m in r.metrics))
                   for r in store.records()}
        failures = {(f.model_id, f.task, f.error_type, f.message) for f in store.failures()}
        return summary, lines, records, failures

    rec = Recorder(fail_tasks=["ovc_toy"])
    local = outputs(LocalExecutor(evaluate=rec.evaluate, load_model=rec.load_model),
                    tmp_path / "local")
    replay = outputs(ReplayExecutor(Recorder(fail_tasks=["ovc_toy"])), tmp_path / "replay")
    assert local[1:] == replay[1:] and len(local[2]) == 2 and len(local[3]) == 2
    assert "✗ open-a × ovc_toy: RuntimeError: evaluation exploded" in local[1]
    assert len(local[1]) == 4
    for summary in (local[0], replay[0]):
        assert summary.exit_code == 1 and len(summary.done) == len(summary.failed) == 2
        loads = 1 if summary is local[0] else 2  # the replay loads once per job
        assert sorted(summary.models_loaded) == sorted(["open-a", "open-b"] * loads)


def test_a_record_the_disk_refuses_is_a_logged_failure_with_its_spend_kept(tmp_path):
    from openvsclosed.events import JobFinished, Outcome
    from openvsclosed.runner import RunSummary
    from openvsclosed.sinks import driver_sinks

    store = ResultStore(tmp_path)
    plan = plan_jobs(run_config(), store, env={})
    job = plan.pending[0]
    record = Recorder().evaluate  # a real record, built as a worker would
    from openvsclosed.runner import run_one

    done = run_one(job, "lm", record).model_copy(update={"usage": {"spent_usd": 0.5}})

    def refuse(_record):
        raise OSError(28, "No space left on device")

    store.put = refuse
    summary = RunSummary()
    with driver_sinks(plan, store, summary, QUIET, {}) as emit:
        emit(JobFinished(job, Outcome("done", record=done)))
    [(failed, message)] = summary.failed
    assert failed == job and "No space left" in message and not summary.done
    assert summary.spent_usd == 0.5
    assert [f.error_type for f in store.failures()] == ["OSError"]


def test_the_runner_never_imports_an_executor():
    import subprocess
    import sys

    code = ("import sys, openvsclosed.runner, openvsclosed.sinks; "
            "assert not [m for m in sys.modules if m.startswith('openvsclosed.executors')]")
    subprocess.run([sys.executable, "-c", code], check=True)
