"""The local executor: models one after another in this process, each loaded once."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console

from openvsclosed.plan import Plan
from openvsclosed.runner import Evaluate, LoadModel, RunProgress, RunSummary, attempt, by_model
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
        progress = RunProgress(plan, store, console, env)
        with progress:
            for jobs in by_model(plan.pending).values():
                spec = jobs[0].model
                if progress.budget_spent and spec.is_api:
                    progress.skip_for_budget(jobs)  # the budget is spent: load nothing more
                    continue
                progress.status(f"loading {spec.id}")
                try:
                    lm = self.load_model(spec)
                    progress.loaded(spec)
                except Exception as exc:
                    for job in jobs:
                        progress.fail(job, type(exc).__name__, f"{type(exc).__name__}: {exc}")
                    continue
                for job in jobs:
                    progress.status(job.label)
                    if progress.budget_spent and spec.is_api:
                        progress.skip_for_budget([job])
                    else:
                        progress.finish(job, attempt(job, lm, self.evaluate, progress.env))
                del lm
                gc.collect()
        return progress.summary
