"""Where jobs run: `local` (this process, model after model) or `ray` (actors on a cluster).

Every executor takes the same plan and reports through `runner.RunProgress`, so progress,
records, failures and the summary are the same whichever runs the jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from openvsclosed.plan import Job, Plan
    from openvsclosed.runner import RunSummary
    from openvsclosed.store import ResultStore


class Executor(Protocol):
    """Runs a plan's pending jobs; the driver writes every record and failure."""

    def run(self, plan: Plan, store: ResultStore, *, console: Console | None = None,
            env: Mapping[str, str] | None = None) -> RunSummary:
        """Run every pending job once (retrying dead workers' jobs where the executor can)."""
        ...


def loglikelihood_models(jobs: list[Job], manager: Any) -> set[str]:
    """Ids of models with a job scored by log-likelihood.

    vLLM then runs without its prefix cache, which makes prompt log-probabilities depend on
    request order.
    """
    from openvsclosed.tasks import LOGLIKELIHOOD_TYPES, output_types

    seen: dict[str, bool] = {}
    out = set()
    for job in jobs:
        task = job.lm_eval_task
        if task not in seen:
            seen[task] = bool(output_types(manager, task) & LOGLIKELIHOOD_TYPES)
        if seen[task]:
            out.add(job.model.id)
    return out
