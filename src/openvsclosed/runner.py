"""Run planned jobs: each job on a loaded model becomes a complete record or a logged failure.

Like HELM's runner: one straight pipeline; a job is done when its file exists; a failing job is
logged and every other job still runs; the exit code tells at the end. Planning lives in `plan`,
where jobs run lives in `executors` (`local`: this process; `ray`: actors on a cluster). Both
report through `RunProgress`, the one place that prints, draws the progress bar and writes the
store, so every executor shows the same progress and only the driver touches the files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

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
from openvsclosed.console import say
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
    placements: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(model id, job key) -> where its last attempt ran (host, node, pid,
    CUDA_VISIBLE_DEVICES)."""

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
OWN_ERRORS = ("ApiError", "EgressRefused", "BudgetExceeded")
"""Errors whose text this project writes itself and keeps free of row text (a private job's
server reply is reduced to its status code): shown even for a private task."""
"""Meter counters that become record fields rather than usage entries."""


def run_one(job: Job, lm: Any, evaluate: Evaluate) -> ResultRecord:
    """Evaluate one job on a loaded model and return its complete record (nothing patched)."""
    started = datetime.now(timezone.utc)
    meter = getattr(lm, "meter", None)
    before = meter.snapshot() if meter is not None else {}
    if meter is not None:  # an API model: no reply of a private task cached or quoted,
        lm.private = job.task.private or not job.task.keeps_samples  # keep_samples or not
        lm.loopback_only = job.task.private and not job.task.allow_closed  # pinned, loopback
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


@dataclass
class Outcome:
    """One attempt of one job as a worker saw it: plain data, so it crosses process lines."""

    kind: Literal["done", "failed", "budget"]
    record: ResultRecord | None = None
    error_type: str = ""
    message: str = ""
    paid_usd: float = 0.0
    """Dollars paid on a job that stopped (never lost from the run's account)."""
    seconds: float = 0.0
    worker: dict[str, Any] = field(default_factory=dict)


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
    except Exception as exc:
        return Outcome("failed", error_type=type(exc).__name__,
                       message=scrub(f"{type(exc).__name__}: {exc}", [job.model], env),
                       paid_usd=paid(), seconds=time.perf_counter() - clock)
    return Outcome("done", record=record, seconds=time.perf_counter() - clock)


class RunProgress:
    """The driver's side of a run: progress bar, one line per job, the store, the summary.

    Executors call it from the driver's thread only; it is the single writer of records and
    failures, so workers need no shared filesystem.
    """

    def __init__(self, plan: Plan, store: ResultStore, console: Console | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.env = os.environ if env is None else env
        self.summary = RunSummary()
        self.models = list({job.model.id: job.model for job in plan.pending}.values())
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=console or Console(stderr=True),
        )
        self._bar = self._progress.add_task("jobs", total=len(plan.pending))

    @property
    def console(self) -> Console:
        """Where lines go (above the live progress bar)."""
        return self._progress.console

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @property
    def budget_spent(self) -> bool:
        """Whether some job already stopped for budget (then no more API work starts)."""
        return bool(self.summary.over_budget)

    def status(self, text: str) -> None:
        """What is going on now (the bar's description)."""
        self._progress.update(self._bar, description=text)

    def loaded(self, spec: ModelSpec) -> None:
        """A model copy is loaded and about to run its jobs."""
        self.summary.models_loaded.append(spec.id)

    def finish(self, job: Job, outcome: Outcome) -> None:
        """Record one job's outcome: store it, print its line, advance the bar."""
        if outcome.worker:
            self.summary.placements[job.model.id, job.key] = outcome.worker
        if outcome.kind == "done" and outcome.record is not None:
            try:
                self.store.put(outcome.record)
            except OSError as exc:
                self.fail(job, type(exc).__name__, f"{type(exc).__name__}: {exc}")
                return
            self._done(job, outcome.record, outcome.seconds)
        elif outcome.kind == "budget":
            self.summary.over_budget.append(job)
            self.summary.spent_usd += outcome.paid_usd
            paid = outcome.paid_usd
            say(self.console, (f"- {job.label}", "yellow"),
                f": stopped for budget ({outcome.message})"
                + (f"; ${paid:.4f} paid on it before the stop, answers cached for a re-run"
                   if paid else ""))
            self._progress.advance(self._bar)
        else:
            self.summary.spent_usd += outcome.paid_usd
            self.fail(job, outcome.error_type, outcome.message)

    def fail(self, job: Job, error_type: str, message: str, *, final: bool = True) -> None:
        """Log a failed attempt in failures.jsonl; a final one counts and advances the bar.

        A private task's error text is withheld from the log and the terminal alike: an
        exception from lm-eval, a template or a server may quote the rows it was handling.
        """
        message = scrub(message, self.models, self.env)
        if job.task.private and error_type not in OWN_ERRORS:
            message = (f"{error_type or 'Error'} (details withheld: the task is private and an "
                       "error may quote its rows; to see them, run a copy of the task without "
                       "`private: true` on data you may show)")
        try:
            self.store.record_failure(FailureRecord(
                key=job.key, model_id=job.model.id, task=job.task.name,
                error_type=error_type or "Error", message=message,
                at=datetime.now(timezone.utc),
            ))
        except OSError as log_error:  # the log is unwritable too: say so, keep going
            say(self.console, (f"cannot log the failure in {self.store.failures_path}: "
                               f"{log_error.strerror or log_error}", "red"))
        if final:
            self.summary.failed.append((job, message))
            self._progress.advance(self._bar)
        say(self.console, (f"✗ {job.label}", "red"), f": {message}")

    def skip_for_budget(self, jobs: list[Job]) -> None:
        """Jobs never started because the budget is spent."""
        self.summary.over_budget.extend(jobs)
        self._progress.advance(self._bar, len(jobs))

    def _done(self, job: Job, record: ResultRecord, seconds: float) -> None:
        self.summary.done.append(job)
        self.summary.spent_usd += record.usage.get("spent_usd", 0.0)
        primary = record.metric()
        score = "n/a" if primary is None or primary.value is None else f"{primary.value:.4f}"
        err = f" ± {primary.stderr:.4f}" if primary and primary.stderr is not None else ""
        spend = (f", ${record.usage.get('spent_usd', 0.0):.4f} spent, "
                 f"{int(record.usage.get('requests', 0))} requests "
                 f"({int(record.usage.get('cached', 0))} cached)") if record.usage else ""
        flags = "".join(f", {n} {name}" for name, n in
                        (("no answer", record.no_answer), ("truncated", record.truncated),
                         ("refused", record.refused)) if n)
        say(self.console, (f"✓ {job.label}", "green"), f": {record.primary_metric} {score}{err} "
            f"(n={record.n}{flags}{spend}, {seconds:.1f} s)")
        self._progress.advance(self._bar)


def by_model(jobs: list[Job]) -> dict[str, list[Job]]:
    """Jobs grouped by model id, in plan order (each group loads its model once)."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.model.id, []).append(job)
    return groups


def run_jobs(
    plan: Plan,
    store: ResultStore,
    *,
    evaluate: Evaluate,
    load_model: LoadModel,
    console: Console | None = None,
    env: Mapping[str, str] | None = None,
) -> RunSummary:
    """Run the pending jobs here, model by model; never load a model with nothing pending."""
    from openvsclosed.executors.local import LocalExecutor

    return LocalExecutor(evaluate=evaluate, load_model=load_model).run(
        plan, store, console=console, env=env)


__all__ = ["Job", "LmEvalEvaluator", "Outcome", "Plan", "RunProgress", "RunSummary", "attempt",
           "plan_jobs", "run_jobs", "run_one"]
