"""Plan model x task jobs, skip finished ones, load each model once, isolate failures.

Like HELM's runner: one straight pipeline; a job is done when its file exists; a failing job is
logged and every other job still runs; the exit code tells at the end.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
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

from openvsclosed.config import ApiModelSpec, ConfigError, ModelSpec, RunConfig, TaskSpec, suggest
from openvsclosed.harvest import harvest_record
from openvsclosed.models import identity_args, model_identity, unrunnable_reason
from openvsclosed.models.api import BudgetExceeded
from openvsclosed.schema import FailureRecord, JobKeyFields
from openvsclosed.store import ResultStore
from openvsclosed.tasks import chat_variant

KEY_SCHEME = 1
"""Bumped when what goes into a job key changes, so old results are not mistaken for new."""


def lm_eval_version() -> str:
    """The installed lm-eval's version, read without importing it."""
    return version("lm_eval")


@dataclass(frozen=True)
class Job:
    """One model on one task with every setting resolved."""

    model: ModelSpec
    task: TaskSpec
    key_fields: JobKeyFields
    key: str

    @property
    def label(self) -> str:
        """How progress lines name the job."""
        return f"{self.model.id} × {self.task.name}"

    @property
    def lm_eval_task(self) -> str:
        """The task lm-eval runs: the chat variant under protocol chat."""
        return chat_variant(self.task.name) if self.key_fields.protocol == "chat" \
            else self.task.name

    @property
    def chat(self) -> bool:
        """Whether prompts go through the chat template (protocol chat, or any chat API)."""
        return self.key_fields.protocol == "chat" or isinstance(self.model, ApiModelSpec)


def make_job(model: ModelSpec, task: TaskSpec, config: RunConfig, limit: float | None,
             lm_eval: str) -> Job:
    """Resolve a job's settings (task over defaults, --limit over both) and its key."""
    fields = JobKeyFields(
        key_scheme=KEY_SCHEME,
        model={"backend": model.backend, "args": identity_args(model)},
        task=task.name,
        num_fewshot=(task.num_fewshot if task.num_fewshot is not None
                     else config.defaults.num_fewshot),
        limit=limit if limit is not None else (task.limit or config.defaults.limit),
        seed=list(config.defaults.seeds),
        protocol=config.protocol,
        lm_eval_version=lm_eval,
    )
    return Job(model=model, task=task, key_fields=fields, key=fields.key())


@dataclass
class Plan:
    """What a run will do: finished jobs stay untouched, skipped ones say why."""

    finished: list[Job] = field(default_factory=list)
    pending: list[Job] = field(default_factory=list)
    skipped: list[tuple[Job, str]] = field(default_factory=list)


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
) -> Plan:
    """Every selected model x task, sorted into finished / pending / skipped."""
    env = os.environ if env is None else env
    models = _select(config.models, model_ids, lambda m: m.id, "--model", source)
    tasks = _select(config.tasks, task_names, lambda t: t.name, "--task", source)
    lm_eval = lm_eval_version()
    plan = Plan()
    for model in models:
        reason = unrunnable_reason(model, env)
        for task in tasks:
            job = make_job(model, task, config, limit, lm_eval)
            if not force and store.has(model.id, task.name, job.key):
                plan.finished.append(job)
            elif reason:
                plan.skipped.append((job, reason))
            else:
                plan.pending.append(job)
    return plan


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
    """Dollars this run paid for fresh API responses (cache hits cost nothing)."""

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
    for model in models:
        if isinstance(model, ApiModelSpec) and model.api_key_env:
            secret = env.get(model.api_key_env)
            if secret:
                text = text.replace(secret, f"${model.api_key_env}")
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
        store.record_failure(FailureRecord(
            key=job.key, model_id=job.model.id, task=job.task.name,
            error_type=type(exc).__name__, message=message, at=datetime.now(timezone.utc),
        ))
        progress.console.print(f"[red]✗ {job.label}[/red]: {message}", soft_wrap=True)

    with progress:
        bar = progress.add_task("jobs", total=len(plan.pending))
        for jobs in by_model.values():
            spec = jobs[0].model
            if summary.over_budget and isinstance(spec, ApiModelSpec):
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
                if summary.over_budget and isinstance(spec, ApiModelSpec):
                    summary.over_budget.append(job)
                else:
                    _run_one(job, lm, evaluate, store, summary, fail, progress.console)
                progress.advance(bar)
            del lm
            gc.collect()
    return summary


def _run_one(job: Job, lm: Any, evaluate: Evaluate, store: ResultStore, summary: RunSummary,
             fail: Callable[[Job, BaseException], None], console: Console) -> None:
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    meter = getattr(lm, "meter", None)
    before = meter.snapshot() if meter is not None else {}
    try:
        results = evaluate(lm, job)
        finished = datetime.now(timezone.utc)
        record = harvest_record(
            results, task=job.lm_eval_task, key=job.key, key_fields=job.key_fields,
            model=model_identity(job.model), metric=job.task.metric,
            started_at=started, finished_at=finished,
        )
        usage = {k: v - before[k] for k, v in meter.snapshot().items()} if meter else {}
        record = record.model_copy(update={
            "task": job.task.name,
            "lm_eval_task": job.lm_eval_task if job.lm_eval_task != job.task.name else None,
            "cost_usd": round(usage["cost_usd"], 8) if usage else None,
            "usage": {k: v for k, v in usage.items() if k != "cost_usd"},
        })
        store.put(record)
    except BudgetExceeded as exc:
        summary.over_budget.append(job)
        console.print(f"[yellow]- {job.label}[/yellow]: skipped for budget ({exc})",
                      soft_wrap=True)
        return
    except Exception as exc:  # noqa: BLE001  (recorded, and the run goes on)
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
    console.print(f"[green]✓ {job.label}[/green]: {record.primary_metric} {score}{err} "
                  f"(n={record.n}{spend}, {time.perf_counter() - clock:.1f} s)", soft_wrap=True)
