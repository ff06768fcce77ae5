"""The frozen plan of a run: what is finished, what runs, what is skipped and why.

One resolve step builds everything a run needs to know before a model loads (the task index,
the run's TaskManager, the data check, unscorable pairings, missing keys and extras, spend and
store checks), so `validate`, `--dry-run`, `run`, the executors and the benches all consume the
same object and a dry run tells the truth about a run. Nothing downstream edits a `Plan`; the
one later change (jobs another process finished while this one waited for the lock) returns a
new one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openvsclosed.config import ConfigError, RunConfig, suggest
from openvsclosed.jobs import Job, all_jobs, refuse_private_leaks
from openvsclosed.models import UnusableKey, unrunnable_reason
from openvsclosed.store import ResultStore

__all__ = ["Job", "Plan", "plan_jobs", "plan_run"]

Status = Callable[[str], contextlib.AbstractContextManager[Any]]
"""Shows what a slow step is doing (the CLI's spinner); silent by default."""


@dataclass(frozen=True)
class Plan:
    """What a run will do: finished jobs stay untouched, skipped ones say why."""

    finished: tuple[Job, ...] = ()
    pending: tuple[Job, ...] = ()
    skipped: tuple[tuple[Job, str], ...] = ()
    task_manager: Any = None
    """The run's lm-eval TaskManager, built once by `plan_run` (None from `plan_jobs`)."""
    force: bool = False
    """Finished jobs were asked to run again (`--force`): none is ever taken as finished."""
    data_problem: str | None = None
    """Why some pending tasks' data cannot be read from here: a run refuses to start (exit 2),
    a dry run shows those jobs as skipped with this warning."""

    def skip(self, jobs: list[tuple[Job, str]]) -> Plan:
        """A plan with these pending jobs moved to skipped, each with its reason."""
        keys = {job.key for job, _ in jobs}
        return replace(self, pending=tuple(j for j in self.pending if j.key not in keys),
                       skipped=(*self.skipped, *jobs))

    def still_pending(self, store: ResultStore) -> Plan:
        """A plan without the jobs another run finished since this one was made."""
        if self.force:
            return self
        done = tuple(j for j in self.pending if store.has(j.model.id, j.task.name, j.key))
        if not done:
            return self
        keys = {j.key for j in done}
        return replace(self, pending=tuple(j for j in self.pending if j.key not in keys),
                       finished=(*self.finished, *done))


def plan_jobs(
    config: RunConfig,
    store: ResultStore,
    *,
    model_ids: list[str] | None = None,
    task_names: list[str] | None = None,
    limit: float | None = None,
    force: bool = False,
    env: Mapping[str, str] | None = None,
    source: str = "the config",
    check_install: bool = False,
) -> Plan:
    """Every selected model x task x protocol, sorted into finished / pending / skipped.

    The bookkeeping step alone (no task index, no data check): what `plan_run` starts from,
    and what tests with an injected evaluator use.
    """
    env = os.environ if env is None else env
    models = _select(config.models, model_ids, lambda m: m.id, "--model", source)
    tasks = _select(config.tasks, task_names, lambda t: t.name, "--task", source)
    try:
        reasons = {model.id: unrunnable_reason(model, env, check_install=check_install)
                   for model in models}
    except UnusableKey as exc:
        raise ConfigError(f"{source}: {exc}.") from None
    jobs = all_jobs(config, limit=limit, source=source, models=models, tasks=tasks)
    refuse_private_leaks(jobs, source)
    finished, pending, skipped = [], [], []
    for job in jobs:
        if not force and store.has(job.model.id, job.task.name, job.key):
            finished.append(job)
        elif reasons[job.model.id]:
            skipped.append((job, reasons[job.model.id]))
        else:
            pending.append(job)
    return Plan(tuple(finished), tuple(pending), tuple(skipped), force=force)


def plan_run(
    config: RunConfig,
    store: ResultStore,
    *,
    source: str,
    model_ids: list[str] | None = None,
    task_names: list[str] | None = None,
    limit: float | None = None,
    force: bool = False,
    mirror: Path | None = None,
    max_cost_usd: float | None = None,
    dry_run: bool = False,
    executor: str = "local",
    env: Mapping[str, str] | None = None,
    status: Status | None = None,
) -> Plan:
    """The whole plan `run` executes and `--dry-run` prints; what either refuses raises.

    Raises ConfigError (and the store's and ledger's own errors) for what stops a run before
    any spend: an unwritable results folder, an unreadable ledger, a cap with unpriced models,
    unknown task names or metrics. Data that cannot be read is `data_problem`.
    """
    from openvsclosed.owntaskfiles import own_tasks_folder
    from openvsclosed.planchecks import check_batch_placement, check_spend, check_tasks, data_skips
    from openvsclosed.tasks import include_paths

    status = status or (lambda _text: contextlib.nullcontext())
    plan = plan_jobs(config, store, model_ids=model_ids, task_names=task_names, limit=limit,
                     force=force, env=env, source=source, check_install=executor == "local")
    if not plan.pending:
        return plan
    check_spend(plan.pending, store, max_cost_usd)
    check_batch_placement(plan.pending, executor)
    # resolved once; a dry run writes nothing into the results folder (own tasks: system temp)
    paths = include_paths(config, source, None if dry_run else own_tasks_folder(store.root))
    plan = data_skips(plan, paths, mirror, dry_run, status)
    if not plan.pending or (plan.data_problem and not dry_run):
        return plan  # a run stops on unreadable data before the TaskManager is built
    manager, unscorable = check_tasks(config, source, plan.pending, mirror, status, paths)
    return replace(plan.skip(unscorable), task_manager=manager)


def _select(items: list[Any], wanted: list[str] | None, name: Callable[[Any], str],
            option: str, source: str) -> list[Any]:
    if not wanted:
        return list(items)
    names = [name(i) for i in items]
    for w in wanted:
        if w not in names:
            raise ConfigError(
                f"{option} {w!r} is not in {source}.{suggest(w, names)} "
                f"Allowed: {', '.join(names)}."
            )
    return [i for i in items if name(i) in wanted]

