"""What runs inside a Ray actor: one model copy, its resources, its loader and task index.

Kept apart from the driver's loop (`ray_cluster`) because Ray ships these by reference to
every worker process: they must import without the driver's state.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openvsclosed.config import ModelSpec, RunConfig
from openvsclosed.events import Outcome
from openvsclosed.models.vllm_engine import gpus_per_copy
from openvsclosed.plan import Job
from openvsclosed.runner import Evaluate, attempt


def api_host(spec: ModelSpec) -> str | None:
    """Where an API model's requests go: its provider's host, the unit of the concurrency cap."""
    if not spec.is_api:
        return None
    return urlsplit(spec.endpoint).hostname or spec.backend


def provider_resource(spec: ModelSpec) -> str | None:
    """The custom Ray resource capping requests in flight to one provider, cluster-wide."""
    host = api_host(spec)
    return f"ovc-api:{host}" if host else None


def demand(spec: ModelSpec) -> dict[str, float]:
    """What one copy of a model holds: CPUs, GPUs, and its requests in flight to its provider."""
    need = {"CPU": 1.0 if spec.num_cpus is None else float(spec.num_cpus),
            "GPU": 0.0 if spec.is_api else gpus_per_copy(spec)}
    resource = provider_resource(spec)
    if resource:
        need[resource] = float(spec.num_concurrent)
    return need


def worker_info() -> dict[str, Any]:
    """Where this process runs, for the summary (and the tests that check placement)."""
    import ray

    return {"host": socket.gethostname(), "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()]}


class ModelWorker:
    """The actor's body: one model copy, loaded once, running its jobs one at a time."""

    def __init__(self, spec: ModelSpec, env: dict[str, str], load_model: Callable[..., Any],
                 make_evaluate: Callable[[], Evaluate], budget: Any) -> None:
        os.environ.update(env)
        if spec.num_cpus is None and not spec.is_api:
            # Ray pins OMP_NUM_THREADS to the CPUs reserved (1 by default); weights on CPU
            # would then run on one core. Unset, the model uses its node's cores as locally.
            os.environ.pop("OMP_NUM_THREADS", None)
        self.spec, self.load_model, self.make_evaluate = spec, load_model, make_evaluate
        self.budget = budget
        self.lm: Any = None
        self.evaluate: Evaluate | None = None

    def load(self) -> dict[str, Any]:
        """Load the model (and this worker's task index); raises if it cannot."""
        from openvsclosed.executors.ray_budget import RemoteBudget

        self.evaluate = self.make_evaluate()
        budget = RemoteBudget(self.budget) if self.budget is not None else None
        self.lm = self.load_model(self.spec, budget)
        return worker_info()

    def run(self, job: Job) -> Outcome:
        """One job's outcome (a job that raises is an outcome, not an actor error)."""
        assert self.evaluate is not None, "load() first"
        outcome = attempt(job, self.lm, self.evaluate)
        outcome.worker = worker_info()
        return outcome


def worker_evaluator(data_dir: str | None, include_path: list[str],
                     include_defaults: bool = True, config: RunConfig | None = None) -> Evaluate:
    """An actor's own `Evaluate`, with a TaskManager built where the actor runs.

    Datasets come from the mirror path on that machine, else the hub; a config's own tasks
    are written out again on that machine.
    """
    from openvsclosed.runner import LmEvalEvaluator
    from openvsclosed.tasks import build_task_manager

    paths = [Path(p) for p in include_path]
    if config is not None:
        from openvsclosed.owntaskfiles import task_include_paths

        paths += [p for p in task_include_paths(config) if p not in paths]
    manager = build_task_manager(Path(data_dir) if data_dir else None, paths, include_defaults)
    return LmEvalEvaluator(manager)


def load_on_worker(spec: ModelSpec, budget: Any, *, cache_dir: str | None,
                   loglikelihood_ids: frozenset[str] = frozenset(),
                   batch_dir: str | None = None, batch_wait: bool = True) -> Any:
    """The CLI's loader inside an actor.

    The response cache lives where the actor runs (none if that machine cannot create it); API
    models get the run's shared budget (and journal provider batches where the actor runs);
    vLLM gets one copy per actor.
    """
    from openvsclosed.models import load_model

    cache = Path(cache_dir) if cache_dir else None
    if cache is not None and spec.is_api:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError:
            cache = None
    return load_model(spec, cache_dir=cache, budget=budget, data_parallel=1,
                      loglikelihood=spec.id in loglikelihood_ids,
                      batch_dir=Path(batch_dir) if batch_dir else None, batch_wait=batch_wait)
