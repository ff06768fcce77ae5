"""The checks a plan makes before any model loads: spend, data, task names and scorability.

Each returns what the plan records or raises what stops a run; `plan.plan_run` composes them in
the order a user would want to hear about problems (cheap refusals first, then the task index).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openvsclosed.config import ConfigError, RunConfig
from openvsclosed.jobs import Job


def check_spend(pending: tuple[Job, ...], store: Any, max_cost_usd: float | None) -> None:
    """The results folder takes records, the ledger reads, and a cap can count every model.

    Raises StoreError, LedgerError or ConfigError: a dry run refuses what the run would refuse,
    before any spend.
    """
    from openvsclosed.budget import check_ledger

    store.check_writable(store.path_for(j.model.id, j.task.name, j.key) for j in pending)
    if any(j.model.is_api for j in pending):
        check_ledger(store.root)
    unpriced = sorted({j.model.id for j in pending if j.model.is_api
                       and (j.model.input_per_m is None or j.model.output_per_m is None)})
    if max_cost_usd is not None and unpriced:  # a cap it cannot count against is no cap
        one = len(unpriced) == 1
        raise ConfigError(
            f"--max-cost {max_cost_usd:g}: {', '.join(unpriced)} {'has' if one else 'have'} "
            f"no price, so spending on {'it' if one else 'them'} could not be counted against "
            "the cap; allowed: set input_per_m and output_per_m (dollars per million tokens; "
            "0 for a free local server) on the model in the config, or run without a cap.")


def check_batch_placement(pending: tuple[Job, ...], executor: str) -> None:
    """Batched models get no private rows and run where their journal is (never on Ray).

    A journal on a worker's disk is not found when a later run places the model on another
    node, which would submit (and pay for) the same requests again; a batched model only waits
    on the provider, so nothing is gained by sending it to a cluster.
    """
    batched = sorted({j.model.id for j in pending if j.model.is_api and j.model.batched})
    private = sorted({f"{j.model.id} × {j.task.name}" for j in pending
                      if j.model.is_api and j.model.batched and j.task.private})
    if private:
        raise ConfigError(
            f"private task rows would go into a provider batch ({', '.join(private)}): a batch "
            "keeps its prompts on the provider's servers for days; allowed: set batch: false on "
            "that model to run the private task live, or drop it with --model.")
    if executor == "ray" and batched:
        raise ConfigError(
            f"--executor ray: {', '.join(batched)} {'has' if len(batched) == 1 else 'have'} "
            "batch on, and a provider batch's journal must stay on one machine so that a later "
            "run collects it instead of paying for it twice; allowed: run batched models with "
            "--executor local (they only wait on the provider), or set batch: false.")


def data_skips(plan: Any, paths: list[Path], mirror: Path | None, dry_run: bool,
               status: Any) -> Any:
    """Jobs whose data cannot be read from here, skipped with the reason and `data_problem`.

    A dry run with a mirror also skips jobs whose split the mirror lacks: in a real run they
    would start and fail.
    """
    from dataclasses import replace

    from openvsclosed.datacheck import SHORT, check_data, missing_splits, reachability_message
    from openvsclosed.taskindex import task_index

    with status("Indexing lm-eval tasks (cached after the first time)…"):
        index = task_index([str(p) for p in paths])  # the TaskManager's key: indexed once
    names = [job.lm_eval_task for job in plan.pending]
    problems = check_data(names, index, mirror)
    why = {need.task: f"data not reachable ({SHORT[reason]})" for need, reason in problems}
    if dry_run and mirror is not None:
        for task, message in missing_splits(names, index, mirror).items():
            why.setdefault(task, f"would fail: {message}")
    if not why:
        return plan
    plan = plan.skip([(job, why[job.lm_eval_task]) for job in plan.pending
                      if job.lm_eval_task in why])
    return replace(plan, data_problem=reachability_message(problems, mirror)) if problems \
        else plan


def check_tasks(config: RunConfig, source: str, pending: tuple[Job, ...], mirror: Path | None,
                status: Any, paths: list[Path]) -> tuple[Any, list[tuple[Job, str]]]:
    """The run's TaskManager after refusing unknown task names and metrics; unscorable pairs."""
    from openvsclosed.tasks import (
        build_task_manager,
        check_metrics,
        check_task_names,
        unscorable_jobs,
    )

    with status("Indexing lm-eval tasks…"):
        manager = build_task_manager(mirror, include_path=paths)
    check_task_names(config, source, manager, {job.task.name for job in pending})
    check_metrics(list(pending), manager, source)
    return manager, unscorable_jobs(list(pending), manager)


def batch_notes(config: RunConfig) -> list[str]:
    """What `batch: true` cannot do for this config: backends without a batch protocol."""
    from openvsclosed.backends import backend

    if not config.batch:
        return []
    return [f"{m.id} stays live: backend {m.backend} has no provider batch protocol"
            for m in config.models if m.is_api and not backend(m.backend).batch]
