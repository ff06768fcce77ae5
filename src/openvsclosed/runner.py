"""Run one job on a loaded model: a complete record, or an outcome saying why not.

Like HELM's runner: one straight pipeline; a job is done when its file exists; a failing job is
an outcome and every other job still runs; the exit code tells at the end. Planning lives in
`plan`; where jobs run lives in `executors` (`local`: this process; `ray`: actors on a
cluster), which import this module (never the reverse) and emit `events` that the driver's
`sinks` turn into the progress bar, the store, the failure log and the spend.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from openvsclosed.budget import BudgetExceeded
from openvsclosed.config import ModelSpec
from openvsclosed.events import Outcome
from openvsclosed.harvest import harvest_record
from openvsclosed.models import model_identity
from openvsclosed.models.batchwait import BatchPending
from openvsclosed.plan import Job, Plan, plan_jobs
from openvsclosed.schema import ResultRecord

Evaluate = Callable[[Any, Job], dict]
"""(loaded model, job) -> lm-eval's results dict for that job's task."""
LoadModel = Callable[[ModelSpec], Any]


@dataclass
class RunSummary:
    """What happened, for the closing lines and the exit code."""

    done: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)
    over_budget: list[Job] = field(default_factory=list)
    """Jobs not run (or stopped) because the next request would pass the budget."""
    models_loaded: list[str] = field(default_factory=list)
    waiting: list[tuple[Job, str]] = field(default_factory=list)
    """Jobs whose requests wait in a provider's batch: not failed, collected by a later run."""
    spent_usd: float = 0.0
    """Dollars this run paid for fresh API responses (cache hits cost nothing), stopped,
    waiting and failed jobs included."""
    ledger_usd: float | None = None
    """Dollars paid against the results directory's budget ledger, all runs together."""
    placements: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(model id, job key) -> where its last attempt ran (host, node, pid,
    CUDA_VISIBLE_DEVICES)."""

    @property
    def budget_spent(self) -> bool:
        """Whether some job already stopped for budget (then no more API work starts)."""
        return bool(self.over_budget)

    @property
    def exit_code(self) -> int:
        """0 when no attempted job failed (waiting in a batch is not failing), 1 when some did."""
        return 1 if self.failed else 0


class LmEvalEvaluator:
    """The real `Evaluate`: lm-eval's `simple_evaluate` with one shared TaskManager."""

    def __init__(self, task_manager: Any) -> None:
        self.task_manager = task_manager

    def __call__(self, lm: Any, job: Job) -> dict:
        """Evaluate one task on an already-loaded model."""
        from lm_eval import simple_evaluate

        fields = job.key_fields
        limit = fields.limit
        python_seed, numpy_seed, torch_seed, fewshot_seed = fields.seed
        return simple_evaluate(
            model=lm, tasks=[job.lm_eval_task], num_fewshot=fields.num_fewshot,
            apply_chat_template=job.chat,
            limit=int(limit) if limit is not None and limit >= 1 else limit,
            task_manager=self.task_manager, log_samples=True,
            random_seed=python_seed, numpy_random_seed=numpy_seed,
            torch_random_seed=torch_seed, fewshot_random_seed=fewshot_seed,
        )


def scrub(text: str, models: list[ModelSpec], env: Mapping[str, str],
          limit: int | None = None) -> str:
    """Remove every configured API key's value from a message, then cut it to `limit`.

    Scrubbing comes first: a key straddling the cut would leave its head behind, unrecognised.
    """
    from openvsclosed.models import scrub_secrets

    secrets = {m.api_key_env: env.get(m.api_key_env, "") for m in models
               if m.is_api and m.api_key_env}
    text = scrub_secrets(text, secrets)
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


USAGE_COUNTS = ("truncated", "refused")
"""Meter counters that become record fields rather than usage entries."""


def run_one(job: Job, lm: Any, evaluate: Evaluate) -> ResultRecord:
    """Evaluate one job on a loaded model and return its complete record (nothing patched)."""
    started = datetime.now(timezone.utc)
    meter = getattr(lm, "meter", None)
    before = meter.snapshot() if meter is not None else {}
    set_job_flags(lm, job)
    results = evaluate(lm, job)
    usage = {k: v - before[k] for k, v in meter.snapshot().items()} if meter else {}
    record = harvest_record(
        results, task=job.lm_eval_task, key=job.key, key_fields=job.key_fields,
        model=model_identity(job.model), metric=job.metric, started_at=started,
        finished_at=datetime.now(timezone.utc), stored_task=job.task.name,
        cost_usd=round(usage["cost_usd"], 8) if usage else None,
        usage={k: v for k, v in usage.items() if k not in ("cost_usd", *USAGE_COUNTS)},
        truncated=int(usage.get("truncated", 0)), refused=int(usage.get("refused", 0)),
        scorer=getattr(lm, "scorer", None), own_task=_own_task(job, results),
    )
    return record if job.task.keeps_samples else without_text(record)


def set_job_flags(lm: Any, job: Job) -> None:
    """Tell the model what this job allows: caching and quoting replies, leaving loopback.

    A private task's replies are never cached or quoted (nor a task's that keeps no samples);
    a private task not cleared for closed models goes only to the pinned loopback address.
    """
    private = job.task.private or not job.task.keeps_samples
    loopback_only = job.task.private and not job.task.allow_closed
    for_job = getattr(lm, "for_job", None)  # API classes have it; local weights need nothing
    if callable(for_job):
        for_job(private=private, loopback_only=loopback_only, private_rows=job.task.private)


def _own_task(job: Job, results: dict) -> dict | None:
    """What the generated task says of the user's file (name and hash, never rows)."""
    if job.task.file is None:
        return None
    meta = (results.get("configs", {}).get(job.lm_eval_task, {}).get("metadata") or {})
    return meta.get("ovc_own_task")


def without_text(record: ResultRecord) -> ResultRecord:
    """A record whose samples keep scores and hashes but no prompt, target or reply text."""
    samples = [s.model_copy(update={"target": None, "resps": None, "filtered_resps": None})
               for s in record.samples]
    return record.model_copy(update={"samples": samples})


def attempt(job: Job, lm: Any, evaluate: Evaluate,
            env: Mapping[str, str] | None = None) -> Outcome:
    """Run one job, catching what it raises: the same on every executor's workers."""
    env = os.environ if env is None else env
    clock = time.perf_counter()
    meter = getattr(lm, "meter", None)
    paid_before = meter.snapshot()["spent_usd"] if meter is not None else 0.0

    def paid() -> float:
        return meter.snapshot()["spent_usd"] - paid_before if meter is not None else 0.0

    try:
        record = run_one(job, lm, evaluate)
    except BudgetExceeded as exc:
        return Outcome("budget", message=str(exc), paid_usd=paid(),
                       seconds=time.perf_counter() - clock)
    except BatchPending as exc:  # submitted to a provider's batch: a later run collects it
        return Outcome("waiting", message=scrub(str(exc), [job.model], env),
                       batches=tuple(scrub(line, [job.model], env) for line in exc.batches),
                       paid_usd=paid(), seconds=time.perf_counter() - clock)
    except Exception as exc:
        return Outcome("failed", error_type=type(exc).__name__,
                       message=scrub(f"{type(exc).__name__}: {exc}", [job.model], env),
                       paid_usd=paid(), seconds=time.perf_counter() - clock)
    return Outcome("done", record=record, seconds=time.perf_counter() - clock)


def by_model(jobs: list[Job]) -> dict[str, list[Job]]:
    """Jobs grouped by model id, in plan order (each group loads its model once)."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.model.id, []).append(job)
    return groups


__all__ = ["Job", "LmEvalEvaluator", "Outcome", "Plan", "RunSummary", "attempt", "by_model",
           "plan_jobs", "run_one", "scrub"]
