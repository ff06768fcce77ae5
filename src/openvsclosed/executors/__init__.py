"""Where jobs run: `local` (this process, model after model) or `ray` (actors on a cluster).

Every executor implements `Executor`, takes the same plan and emits the same `events` into the
driver's `sinks`, so progress, records, failures and the summary are the same whichever runs
the jobs. Imports go one way: executors import `runner`, never the reverse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from openvsclosed.executors.unavailable import ExecutorUnavailable

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from rich.console import Console

    from openvsclosed.budget import Budget
    from openvsclosed.config import RunConfig
    from openvsclosed.plan import Job, Plan
    from openvsclosed.runner import RunSummary
    from openvsclosed.store import ResultStore

BATCH_FOLDER = "batches"
"""Where, in the results folder, provider batches are journaled (so a later run collects)."""
__all__ = ["BATCH_FOLDER", "Executor", "ExecutorUnavailable", "execute_plan",
           "loglikelihood_models"]
RAY_INSTALL = "--executor ray needs Ray; install it with pip install 'openvsclosed[ray]'."


class Executor(Protocol):
    """Runs a plan's pending jobs; the driver writes every record and failure."""

    def run(self, plan: Plan, store: ResultStore, *, console: Console | None = None,
            env: Mapping[str, str] | None = None) -> RunSummary:
        """Run every pending job once (retrying dead workers' jobs where the executor can)."""
        ...


def execute_plan(plan: Plan, store: ResultStore, *, task_manager: Any,
                 max_cost_usd: float | None, cfg: RunConfig,
                 mirror: Path | None = None, executor: str = "local",
                 ray_address: str | None = None, console: Console | None = None,
                 batch_wait: bool = True) -> RunSummary:
    """Run the plan on the chosen executor under one budget; the summary carries the ledger.

    Models with `batch` on journal their provider batches under the results folder's `batches`;
    `batch_wait=False` (`--no-wait`) submits them and leaves their jobs waiting.

    Raises `ExecutorUnavailable` (with the user's message) when the executor cannot run here;
    KeyboardInterrupt passes through, every finished job already stored.
    """
    import importlib.util

    from openvsclosed.budget import Budget

    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise ExecutorUnavailable(RAY_INSTALL)
    budget = Budget(max_usd=max_cost_usd, root=store.root)
    scored_by_loglikelihood = loglikelihood_models(plan.pending, task_manager)
    runner: Executor
    if executor == "ray":
        runner = _ray_executor(cfg, mirror, store, budget, scored_by_loglikelihood,
                               ray_address, batch_wait)
    else:
        from openvsclosed.executors.local import LocalExecutor
        from openvsclosed.models import load_model
        from openvsclosed.runner import LmEvalEvaluator

        def load(spec: Any) -> Any:
            return load_model(spec, cache_dir=store.root / "cache", budget=budget,
                              loglikelihood=spec.id in scored_by_loglikelihood,
                              batch_dir=store.root / BATCH_FOLDER, batch_wait=batch_wait)

        runner = LocalExecutor(evaluate=LmEvalEvaluator(task_manager), load_model=load)
    summary = runner.run(plan, store, console=console)
    summary.ledger_usd = budget.spent_usd if budget.spent_usd else None
    return summary


def _ray_executor(config: RunConfig, data_dir: Path | None, store: ResultStore,
                  budget: Budget, loglikelihood_ids: set[str], address: str | None,
                  batch_wait: bool) -> Executor:
    """The run's Ray executor: task folders as absolute paths, the cache in the results dir."""
    from functools import partial
    from pathlib import Path

    from openvsclosed.executors.ray_cluster import RayExecutor
    from openvsclosed.executors.ray_worker import load_on_worker, worker_evaluator

    folders = [str(Path(p).absolute()) for p in config.task_paths]
    config = config.model_copy(update={"task_paths": [Path(p) for p in folders]})
    return RayExecutor(
        load_model=partial(load_on_worker, cache_dir=str(store.root.absolute() / "cache"),
                           loglikelihood_ids=frozenset(loglikelihood_ids),
                           batch_dir=str(store.root.absolute() / BATCH_FOLDER),
                           batch_wait=batch_wait),
        make_evaluate=partial(worker_evaluator, str(Path(data_dir).absolute()) if data_dir
                              else None, folders, True, config),
        budget=budget, retries=config.retries, address=address)


def loglikelihood_models(jobs: list[Job], manager: Any) -> set[str]:
    """Ids of models with a job scored by log-likelihood.

    vLLM then runs without its prefix cache, which makes prompt log-probabilities depend on
    request order.
    """
    from openvsclosed.taskindex import needs_loglikelihood

    seen: dict[str, bool] = {}
    out = set()
    for job in jobs:
        task = job.lm_eval_task
        if task not in seen:
            seen[task] = needs_loglikelihood(manager, task)
        if seen[task]:
            out.add(job.model.id)
    return out
