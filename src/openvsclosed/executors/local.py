"""The local executor: models one after another in this process, each loaded once."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console

from openvsclosed.events import BudgetSkipped, JobFinished, ModelLoaded, Outcome, Status
from openvsclosed.plan import Plan
from openvsclosed.runner import Evaluate, LoadModel, RunSummary, attempt, by_model
from openvsclosed.sinks import driver_sinks
from openvsclosed.store import ResultStore


@dataclass
class LocalExecutor:
    """Today's loop, model after model in this process.

    A model with nothing pending is never loaded; a failing load fails only that model's jobs;
    once the budget stops a job, no further API model is loaded.
    """

    evaluate: Evaluate
    load_model: LoadModel

    def run(self, plan: Plan, store: ResultStore, *, console: Console | None = None,
            env: Mapping[str, str] | None = None) -> RunSummary:
        """Run every pending job here and return what happened."""
        summary = RunSummary()
        with driver_sinks(plan, store, summary, console, env) as emit:
            for jobs in by_model(plan.pending).values():
                spec = jobs[0].model
                if summary.budget_spent and spec.is_api:
                    emit(BudgetSkipped(tuple(jobs)))  # the budget is spent: load nothing more
                    continue
                emit(Status(f"loading {spec.id}"))
                try:
                    lm = self.load_model(spec)
                except Exception as exc:
                    for job in jobs:
                        emit(JobFinished(job, Outcome.failure(exc)))
                    continue
                emit(ModelLoaded(spec))
                for job in jobs:
                    emit(Status(job.label))
                    if summary.budget_spent and spec.is_api:
                        emit(BudgetSkipped((job,)))
                    else:
                        emit(JobFinished(job, attempt(job, lm, self.evaluate, env)))
                del lm
                gc.collect()
        return summary


def run_jobs(plan: Plan, store: ResultStore, *, evaluate: Evaluate, load_model: LoadModel,
             console: Console | None = None,
             env: Mapping[str, str] | None = None) -> RunSummary:
    """Run the pending jobs here, model by model; never load a model with nothing pending."""
    return LocalExecutor(evaluate=evaluate, load_model=load_model).run(
        plan, store, console=console, env=env)
