"""Shared pieces of the Ray tests: a contained Ray, and worker-side test doubles.

Functions that actors call live here (an importable module), so Ray ships them by reference;
PYTHONPATH carries the repository into the workers.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from rich.console import Console

from openvsclosed.executors.ray_cluster import RayExecutor, worker_evaluator
from openvsclosed.plan import plan_jobs
from openvsclosed.store import ResultStore
from tests.conftest import REPO, TOY_TASKS

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


@contextmanager
def contained_ray_env(temp: Path):
    """What every Ray test needs: no auth prompt, workers that import `tests`, nothing in ~."""
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "PYTHONPATH", "RAY_TMPDIR")}
    os.environ["RAY_AUTH_MODE"] = "disabled"
    os.environ["RAY_TMPDIR"] = str(temp)
    (temp / "ray").mkdir(parents=True, exist_ok=True)  # where Ray notes the current cluster
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), saved["PYTHONPATH"]]))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def fake_load(spec, budget):
    """Load a local spec as the CLI would, ignoring the budget (fake models send nothing)."""
    from openvsclosed.models import load_model

    return load_model(spec)


def toy_evaluator(mirror: str):
    """The workers' `make_evaluate` for the made-up toy tasks."""
    return partial(worker_evaluator, mirror, [str(TOY_TASKS)], False)


class StallOnce:
    """An evaluator that stalls on one model's task the first time (leaving a marker), so a
    test can kill the actor mid-job; later attempts run normally."""

    def __init__(self, mirror: str, model: str, task: str, marker: str) -> None:
        self.mirror, self.model, self.task, self.marker = mirror, model, task, marker

    def __call__(self):
        inner = worker_evaluator(self.mirror, [str(TOY_TASKS)], False)
        model, task, marker = self.model, self.task, Path(self.marker)

        def evaluate(lm, job):
            if (job.model.id, job.task.name) == (model, task) and not marker.exists():
                marker.write_text(str(os.getpid()))
                time.sleep(120)
            return inner(lm, job)

        return evaluate


def run_on_ray(cfg, root: Path, mirror, *, retries=1, budget=None, load=fake_load,
               make_evaluate=None, env=None):
    """Plan `cfg` against `root` and run it with the Ray executor; (plan, summary, store)."""
    store = ResultStore(root)
    plan = plan_jobs(cfg, store, env=env if env is not None else {})
    executor = RayExecutor(load_model=load, make_evaluate=make_evaluate or toy_evaluator(
        str(mirror)), budget=budget, retries=retries)
    summary = executor.run(plan, store, console=QUIET, env=env if env is not None else {})
    return plan, summary, store


def scores(store: ResultStore) -> dict:
    """Every record's identity and metrics, for comparing two stores."""
    return {(r.model.id, r.task, r.key): [(m.name, m.filter, m.value, m.stderr)
                                          for m in r.metrics]
            for r in store.records()}
