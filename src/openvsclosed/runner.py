"""Run planned jobs: load each model once, turn each job into a complete record, isolate failures.

Like HELM's runner: one straight pipeline; a job is done when its file exists; a failing job is
logged and every other job still runs; the exit code tells at the end. Planning lives in `plan`.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from openvsclosed.budget import BudgetExceeded
from openvsclosed.config import ModelSpec
from openvsclosed.harvest import harvest_record
from openvsclosed.models import model_identity
from openvsclosed.plan import Job, Plan, plan_jobs
from openvsclosed.schema import FailureRecord, ResultRecord
from openvsclosed.store import ResultStore

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
    spent_usd: float = 0.0
    """Dollars this run paid for fresh API responses (cache hits cost nothing), stopped and
    failed jobs included."""
    ledger_usd: float | None = None
    """Dollars paid against the results directory's budget ledger, all runs together."""

    @property
    def exit_code(self) -> int:
        """0 when every attempted job finished, 1 when some failed."""
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


def scrub(text: str, models: list[ModelSpec], env: Mapping[str, str]) -> str:
    """Remove every configured API key's value from a message before it is written anywhere."""
    from openvsclosed.models import secret_forms

    for model in models:
        if model.is_api and model.api_key_env and env.get(model.api_key_env):
            for form in sorted(secret_forms(env[model.api_key_env]), key=len, reverse=True):
                text = text.replace(form, f"${model.api_key_env}")
    return text


def run_jobs(
    plan: Plan,
    store: ResultStore,
    *,
    evaluate: Evaluate,
    load_model: LoadModel,
    console: Console | None = None,
    env: Mapping[str, str] | None = None,
) -> RunSummary:
    """Run the pending jobs model by model; never load a model with nothing pending."""
    env = os.environ if env is None else env
    console = console or Console(stderr=True)
    summary = RunSummary()
    by_model: dict[str, list[Job]] = {}
    for job in plan.pending:
        by_model.setdefault(job.model.id, []).append(job)
    all_models = [jobs[0].model for jobs in by_model.values()]
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console,
    )

    def fail(job: Job, exc: BaseException) -> None:
        message = scrub(f"{type(exc).__name__}: {exc}", all_models, env)
        summary.failed.append((job, message))
        try:
            store.record_failure(FailureRecord(
                key=job.key, model_id=job.model.id, task=job.task.name,
                error_type=type(exc).__name__, message=message, at=datetime.now(timezone.utc),
            ))
        except OSError as log_error:  # the log is unwritable too: say so, keep going
            progress.console.print(f"[red]cannot log the failure in {store.failures_path}: "
                                   f"{log_error.strerror or log_error}[/red]", soft_wrap=True)
        progress.console.print(f"[red]✗ {job.label}[/red]: {message}", soft_wrap=True)

    with progress:
        bar = progress.add_task("jobs", total=len(plan.pending))
        for jobs in by_model.values():
            spec = jobs[0].model
            if summary.over_budget and spec.is_api:
                summary.over_budget.extend(jobs)  # the budget is spent: load nothing more
                progress.advance(bar, len(jobs))
                continue
            progress.update(bar, description=f"loading {spec.id}")
            try:
                lm = load_model(spec)
                summary.models_loaded.append(spec.id)
            except Exception as exc:  # noqa: BLE001  (one model's failure must not stop others)
                for job in jobs:
                    fail(job, exc)
                    progress.advance(bar)
                continue
            for job in jobs:
                progress.update(bar, description=job.label)
                if summary.over_budget and spec.is_api:
                    summary.over_budget.append(job)
                else:
                    _run_one(job, lm, evaluate, store, summary, fail, progress.console)
                progress.advance(bar)
            del lm
            gc.collect()
    return summary


def _paid_since(meter: Any, before: float) -> float:
    """Dollars a job paid before it stopped: never lost from the run's account."""
    return meter.snapshot()["spent_usd"] - before if meter is not None else 0.0


USAGE_COUNTS = ("truncated", "refused")
"""Meter counters that become record fields rather than usage entries."""


def run_one(job: Job, lm: Any, evaluate: Evaluate) -> ResultRecord:
    """Evaluate one job on a loaded model and return its complete record (nothing patched)."""
    started = datetime.now(timezone.utc)
    meter = getattr(lm, "meter", None)
    before = meter.snapshot() if meter is not None else {}
    results = evaluate(lm, job)
    usage = {k: v - before[k] for k, v in meter.snapshot().items()} if meter else {}
    return harvest_record(
        results, task=job.lm_eval_task, key=job.key, key_fields=job.key_fields,
        model=model_identity(job.model), metric=job.task.metric, started_at=started,
        finished_at=datetime.now(timezone.utc), stored_task=job.task.name,
        cost_usd=round(usage["cost_usd"], 8) if usage else None,
        usage={k: v for k, v in usage.items() if k not in ("cost_usd", *USAGE_COUNTS)},
        truncated=int(usage.get("truncated", 0)), refused=int(usage.get("refused", 0)),
        scorer=getattr(lm, "scorer", None),
    )


def _run_one(job: Job, lm: Any, evaluate: Evaluate, store: ResultStore, summary: RunSummary,
             fail: Callable[[Job, BaseException], None], console: Console) -> None:
    clock = time.perf_counter()
    meter = getattr(lm, "meter", None)
    paid_before = meter.snapshot()["spent_usd"] if meter is not None else 0.0
    try:
        record = run_one(job, lm, evaluate)
        store.put(record)
    except BudgetExceeded as exc:
        paid = _paid_since(meter, paid_before)
        summary.over_budget.append(job)
        summary.spent_usd += paid
        console.print(f"[yellow]- {job.label}[/yellow]: stopped for budget ({exc})"
                      + (f"; ${paid:.4f} paid on it before the stop, answers cached for a "
                         "re-run" if paid else ""), soft_wrap=True)
        return
    except Exception as exc:  # noqa: BLE001  (recorded, and the run goes on)
        summary.spent_usd += _paid_since(meter, paid_before)
        fail(job, exc)
        return
    summary.done.append(job)
    summary.spent_usd += record.usage.get("spent_usd", 0.0)
    primary = record.metric()
    score = "n/a" if primary is None or primary.value is None else f"{primary.value:.4f}"
    err = f" ± {primary.stderr:.4f}" if primary and primary.stderr is not None else ""
    spend = (f", ${record.usage.get('spent_usd', 0.0):.4f} spent, "
             f"{int(record.usage.get('requests', 0))} requests "
             f"({int(record.usage.get('cached', 0))} cached)") if record.usage else ""
    flags = "".join(f", {n} {name}" for name, n in
                    (("no answer", record.no_answer), ("truncated", record.truncated),
                     ("refused", record.refused)) if n)
    console.print(f"[green]✓ {job.label}[/green]: {record.primary_metric} {score}{err} "
                  f"(n={record.n}{flags}{spend}, {time.perf_counter() - clock:.1f} s)",
                  soft_wrap=True)


__all__ = ["Job", "LmEvalEvaluator", "Plan", "RunSummary", "plan_jobs", "run_jobs", "run_one"]
