"""The Ray executor: one actor per model copy, on a laptop, a `ray start` cluster, Slurm or K8s.

Each actor loads its model once and runs that model's jobs one at a time; the driver hands out
the next job when one finishes, collects outcomes as they come, and alone writes records and
failures (workers need no shared filesystem). An actor that dies fails only the job it was
running: the attempt is logged, the job is retried on a fresh actor up to `retries` times, and
every other job goes on. Ctrl-C stops the actors; every finished job is already stored. The
loop only emits `events`; the driver's `sinks` print, store and account, as for a local run.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from openvsclosed.budget import Budget
from openvsclosed.config import ModelSpec
from openvsclosed.events import (
    AttemptFailed,
    BudgetSkipped,
    Event,
    JobFinished,
    ModelLoaded,
    Notice,
    Outcome,
    Status,
)
from openvsclosed.executors.ray_address import ALLOWED_ADDRESSES, RayUnavailable, check_reachable
from openvsclosed.executors.ray_worker import (  # noqa: F401  (re-exported for callers)
    ModelWorker,
    api_host,
    demand,
    load_on_worker,
    provider_resource,
    worker_evaluator,
)
from openvsclosed.plan import Job, Plan
from openvsclosed.runner import Evaluate, RunSummary, by_model, scrub
from openvsclosed.sinks import driver_sinks
from openvsclosed.store import ResultStore

DEFAULT_PROVIDER_CAP = 16
"""Requests in flight to one API host across a Ray this run starts itself."""
PASSED_ENV = ("HF_", "OVC_", "TOKENIZERS_PARALLELISM", "TRANSFORMERS_")
"""Driver settings every actor gets (plus its own model's key, and nothing else)."""


@dataclass
class _Copy:
    """One live actor of a model on the driver's books."""

    model_id: str
    actor: Any
    name: str
    job: Job | None = None


@dataclass
class RayExecutor:
    """Spread a plan over a Ray cluster; see the module docstring for the guarantees."""

    load_model: Callable[[ModelSpec, Any], Any]
    """(spec, budget or None) -> the loaded lm-eval model, called inside the actor."""
    make_evaluate: Callable[[], Evaluate]
    """Builds the actor's own `Evaluate` (its TaskManager) once per actor."""
    budget: Budget | None = None
    retries: int = 1
    address: str | None = None
    """A cluster to join (else RAY_ADDRESS, else an already initialised Ray, else a new one)."""
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra `ray.init` arguments for a Ray this executor starts itself."""

    def run(self, plan: Plan, store: ResultStore, *, console: Console | None = None,
            env: Mapping[str, str] | None = None) -> RunSummary:
        """Run every pending job on the cluster and return what happened."""
        import ray

        summary = RunSummary()
        started = self._connect(plan)
        budget_actor, keeps_ledger, drive = None, False, None
        try:
            if self.budget is not None and any(j.model.is_api for j in plan.pending):
                from openvsclosed.executors.ray_budget import start_budget_actor

                budget_actor, keeps_ledger = start_budget_actor(self.budget)
            with driver_sinks(plan, store, summary, console, env) as emit:
                drive = _Drive(self, emit, summary, budget_actor, plan)
                drive.loop()
        finally:
            for copy in list(drive.actors.values()) if drive is not None else []:
                ray.kill(copy.actor, no_restart=True)
            if budget_actor is not None and self.budget is not None:
                from openvsclosed.executors.ray_budget import close_budget_actor

                close_budget_actor(budget_actor, self.budget, keeps_ledger)
            if started:
                ray.shutdown()
        return summary

    def _connect(self, plan: Plan) -> bool:
        """Join the cluster (or start a local Ray); True when this call started it."""
        import ray

        address = self.address or os.environ.get("RAY_ADDRESS")
        if ray.is_initialized():
            return False
        if address:
            check_reachable(address)
            try:
                ray.init(address=address, log_to_driver=False)
            except Exception as exc:
                raise RayUnavailable(f"cannot join the Ray cluster at {address} "
                                     f"({self._short(exc, plan, 200)}); allowed: "
                                     f"{ALLOWED_ADDRESSES}") from None
            return True
        caps: dict[str, float] = {}
        for job in plan.pending:
            resource = provider_resource(job.model)
            if resource:
                caps[resource] = max(caps.get(resource, DEFAULT_PROVIDER_CAP),
                                     float(job.model.num_concurrent))
        kwargs = {"include_dashboard": False, "log_to_driver": False, "resources": caps,
                  **self.init_kwargs}
        try:
            ray.init(**kwargs)
        except Exception as exc:
            raise RayUnavailable(f"cannot start a local Ray ({self._short(exc, plan, 300)}); "
                                 "Ray's socket paths under RAY_TMPDIR must fit in 107 bytes, "
                                 "or join a running cluster with --ray-address") from None
        return True

    @staticmethod
    def _short(exc: Exception, plan: Plan, limit: int) -> str:
        """An exception as one short text: keys scrubbed out first, then cut."""
        models = list({job.model.id: job.model for job in plan.pending}.values())
        return scrub(f"{type(exc).__name__}: {exc}", models, os.environ, limit)


class _Drive:
    """One run's bookkeeping on the driver: queues per model, actors, attempts, in-flight calls."""

    def __init__(self, executor: RayExecutor, emit: Callable[[Event], None],
                 summary: RunSummary, budget_actor: Any, plan: Plan) -> None:
        import ray

        self.ray, self.ex, self.budget_actor = ray, executor, budget_actor
        self.emit, self.summary = emit, summary
        self.queues = {mid: deque(jobs) for mid, jobs in by_model(plan.pending).items()}
        self.specs = {mid: jobs[0].model for mid, jobs in by_model(plan.pending).items()}
        self.tries: dict[tuple[str, str], int] = {}
        self.loads: dict[str, int] = {}
        self.inflight: dict[Any, tuple[str, _Copy]] = {}
        self.names = 0
        self.cluster = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        self.uncapped: set[str] = set()
        self.actors: dict[str, _Copy] = {}
        self.worker_class = ray.remote(ModelWorker)

    def loop(self) -> None:
        """Start every model's copies, then hand out jobs until nothing is in flight."""
        for mid, spec in self.specs.items():
            reason = self._infeasible(spec)
            if reason:
                self._fail_queue(mid, "Infeasible", reason)
                continue
            for _ in range(min(spec.replicas, len(self.queues[mid]))):
                self._start(mid)
        while self.inflight:
            ready, _ = self.ray.wait(list(self.inflight), num_returns=1)
            kind, copy = self.inflight.pop(ready[0])
            try:
                value = self.ray.get(ready[0])
            except self.ray.exceptions.RayTaskError as exc:  # load() raised: the model is unusable
                self._stop(copy)
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                message = f"{type(cause).__name__}: {cause}"
                if kind == "run" and copy.job is not None:  # run() itself broke (not the job)
                    self.emit(JobFinished(copy.job, Outcome.failure(cause, message)))
                self._fail_queue(copy.model_id, type(cause).__name__, message)
                continue
            except self.ray.exceptions.RayError as exc:  # the actor or its node died
                self._died(copy, kind, exc)
                continue
            if kind == "load":
                self.emit(ModelLoaded(self.specs[copy.model_id]))
            else:
                job, copy.job = copy.job, None
                self.emit(JobFinished(job, value))
            self._next(copy)

    def _start(self, mid: str) -> None:
        spec = self.specs[mid]
        need = self._demand(spec)
        self.names += 1
        name = f"ovc-{mid}-{self.names}"
        custom = {k: v for k, v in need.items() if k not in ("CPU", "GPU") and v}
        options: dict[str, Any] = {"resources": custom} if custom else {}
        actor_class = self.worker_class.options(
            name=name, num_cpus=need["CPU"], num_gpus=need["GPU"], max_restarts=0, **options)
        env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV)}
        if spec.is_api and spec.api_key_env and os.environ.get(spec.api_key_env):
            env[spec.api_key_env] = os.environ[spec.api_key_env]  # in memory only, never logged
        actor = actor_class.remote(spec, env, self.ex.load_model, self.ex.make_evaluate,
                                   self.budget_actor if spec.is_api else None)
        copy = _Copy(mid, actor, name)
        self.actors[name] = copy
        self.loads[mid] = self.loads.get(mid, 0) + 1
        self.inflight[actor.load.remote()] = ("load", copy)
        self.emit(Status(f"loading {mid}"))

    def _next(self, copy: _Copy) -> None:
        """Give a loaded copy its model's next job, or stop it (freeing its GPUs) when none."""
        queue, spec = self.queues[copy.model_id], self.specs[copy.model_id]
        if queue and self.summary.budget_spent and spec.is_api:
            self.emit(BudgetSkipped(tuple(queue)))
            queue.clear()
        if not queue:
            self._stop(copy)
            return
        copy.job = queue.popleft()
        self.emit(Status(copy.job.label))
        self.inflight[copy.actor.run.remote(copy.job)] = ("run", copy)

    def _died(self, copy: _Copy, kind: str, exc: Exception) -> None:
        """A dead actor fails only its running job; a fresh copy takes the rest."""
        self._stop(copy)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        first_line = scrub(first_line, [self.specs[copy.model_id]], os.environ, 300)
        why = f"{type(exc).__name__}: the worker died ({first_line})"
        mid, queue = copy.model_id, self.queues[copy.model_id]
        if kind == "run" and copy.job is not None:
            job = copy.job
            slot = (job.model.id, job.key)
            self.tries[slot] = tries = self.tries.get(slot, 0) + 1
            retry = tries <= self.ex.retries
            note = f"; attempt {tries} of {self.ex.retries + 1}" + (", retrying" if retry else "")
            failure = Outcome.failure(exc, why + note)
            self.emit(AttemptFailed(job, failure) if retry else JobFinished(job, failure))
            if retry:
                queue.appendleft(job)
        elif self.loads[mid] > self.ex.retries + len(self._live(mid)):
            self._fail_queue(mid, type(exc).__name__, why + " while loading the model")
        if queue and not self._live(mid):
            self._start(mid)

    def _live(self, mid: str) -> list[_Copy]:
        return [c for c in self.actors.values() if c.model_id == mid]

    def _stop(self, copy: _Copy) -> None:
        if self.actors.pop(copy.name, None) is not None:
            self.ray.kill(copy.actor, no_restart=True)

    def _fail_queue(self, mid: str, error_type: str, message: str) -> None:
        queue = self.queues[mid]
        while queue:
            self.emit(JobFinished(queue.popleft(), Outcome("failed", error_type=error_type,
                                                           message=message)))

    def _demand(self, spec: ModelSpec) -> dict[str, float]:
        """The copy's resources; a provider cap the cluster does not declare is left out."""
        need = demand(spec)
        for resource in [r for r in need if r not in ("CPU", "GPU")]:
            if not any(resource in node for node in self.cluster):
                del need[resource]
                if resource not in self.uncapped:
                    self.uncapped.add(resource)
                    self.emit(Notice(
                        f"the cluster declares no {resource!r} resource, so requests to that"
                        " provider are not capped cluster-wide (declare it with ray start"
                        f" --resources '{{\"{resource}\": N}}')", label="note:"))
        return need

    def _infeasible(self, spec: ModelSpec) -> str | None:
        """Why no node of the cluster can ever hold one copy (Ray would wait forever)."""
        need = self._demand(spec)
        if any(all(node.get(k, 0.0) >= v for k, v in need.items() if v) for node in self.cluster):
            return None
        wanted = ", ".join(f"{v:g} {k}" for k, v in need.items() if v)
        largest = ", ".join(f"{max((n.get(k, 0.0) for n in self.cluster), default=0):g} {k}"
                            for k, v in need.items() if v)
        return (f"one copy of {spec.id} needs {wanted} on one node, and no node of the Ray "
                f"cluster has that (the most any node has: {largest}); lower num_gpus/num_cpus "
                "or add a larger node")

