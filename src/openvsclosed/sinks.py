"""The driver's side of a run: the sinks every executor's events go through.

Three sinks, in this order behind one `Dispatcher`: `StoreSink` writes records and the failure
log (keys scrubbed, a private task's error text withheld) and passes on what it stored;
`SummarySink` accounts jobs and spend into the `RunSummary`; `ProgressSink` draws the bar and
prints one line per job. Executors only emit, from the driver's thread, so whichever executor
ran the jobs the terminal, the files and the summary are the same, and workers need no shared
filesystem.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

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

from openvsclosed.config import ModelSpec
from openvsclosed.console import say
from openvsclosed.events import (
    AttemptFailed,
    BudgetSkipped,
    Dispatcher,
    Event,
    JobFinished,
    ModelLoaded,
    Notice,
    Outcome,
    Status,
)
from openvsclosed.plan import Job, Plan
from openvsclosed.runner import RunSummary, scrub
from openvsclosed.schema import FailureRecord, ResultRecord
from openvsclosed.store import ResultStore

OWN_ERRORS = ("ApiError", "EgressRefused", "BudgetExceeded")
"""Errors whose text this project writes itself and keeps free of row text (a private job's
server reply is reduced to its status code): shown even for a private task."""


class StoreSink:
    """The single writer of records and failures; passes on each event as it was stored."""

    def __init__(self, store: ResultStore, models: list[ModelSpec],
                 env: Mapping[str, str]) -> None:
        self.store, self.models, self.env = store, models, env

    def handle(self, event: Event) -> Iterable[Event]:
        """Store a finished record; log a failed attempt; a record the disk refuses fails."""
        if not isinstance(event, JobFinished | AttemptFailed):
            return [event]
        job, outcome = event.job, event.outcome
        if isinstance(event, JobFinished) and outcome.kind == "done" and outcome.record:
            try:
                self.store.put(outcome.record)
                return [event]
            except OSError as exc:
                outcome = replace(outcome, kind="failed", record=None,
                                  error_type=type(exc).__name__,
                                  message=f"{type(exc).__name__}: {exc}",
                                  paid_usd=outcome.record.usage.get("spent_usd", 0.0))
        if outcome.kind != "failed":
            return [event]
        message = self._shown(job, outcome.error_type, outcome.message)
        return [*self._log(job, outcome.error_type, message),
                type(event)(job, replace(outcome, message=message))]

    def _shown(self, job: Job, error_type: str, message: str) -> str:
        """The error text as it may be kept and shown.

        A private task's is withheld from the log and the terminal alike: an exception from
        lm-eval, a template or a server may quote the rows it was handling.
        """
        message = scrub(message, self.models, self.env)
        if job.task.private and error_type not in OWN_ERRORS:
            message = (f"{error_type or 'Error'} (details withheld: the task is private and an "
                       "error may quote its rows; to see them, run a copy of the task without "
                       "`private: true` on data you may show)")
        return message

    def _log(self, job: Job, error_type: str, message: str) -> list[Event]:
        """Append to failures.jsonl; an unwritable log becomes a line for the user."""
        try:
            self.store.record_failure(FailureRecord(
                key=job.key, model_id=job.model.id, task=job.task.name,
                error_type=error_type or "Error", message=message,
                at=datetime.now(timezone.utc),
            ))
        except OSError as log_error:  # the log is unwritable too: say so, keep going
            return [Notice(f"cannot log the failure in {self.store.failures_path}: "
                           f"{log_error.strerror or log_error}", style="red")]
        return []


class SummarySink:
    """Accounts every job and every dollar into the run's summary (stopped jobs' too)."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def handle(self, event: Event) -> Iterable[Event]:
        """Count the event in the summary."""
        summary = self.summary
        if isinstance(event, ModelLoaded):
            summary.models_loaded.append(event.spec.id)
        elif isinstance(event, BudgetSkipped):
            summary.over_budget.extend(event.jobs)
        elif isinstance(event, JobFinished):
            job, outcome = event.job, event.outcome
            if outcome.worker:
                summary.placements[job.model.id, job.key] = outcome.worker
            if outcome.kind == "done" and outcome.record is not None:
                summary.done.append(job)
                summary.spent_usd += outcome.record.usage.get("spent_usd", 0.0)
                return [event]
            summary.spent_usd += outcome.paid_usd
            if outcome.kind == "budget":
                summary.over_budget.append(job)
            elif outcome.kind == "waiting":
                summary.waiting.append((job, outcome.message))
            else:
                summary.failed.append((job, outcome.message))
        return [event]


class ProgressSink:
    """The progress bar and one line per job, above the bar."""

    def __init__(self, total: int, console: Console | None = None) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=console or Console(stderr=True),
        )
        self.bar = self.progress.add_task("jobs", total=total)

    @property
    def console(self) -> Console:
        """Where lines go (above the live progress bar)."""
        return self.progress.console

    def handle(self, event: Event) -> Iterable[Event]:
        """Draw the event."""
        if isinstance(event, Status):
            self.progress.update(self.bar, description=event.text)
        elif isinstance(event, Notice) and event.label:
            say(self.console, (event.label, event.style), f" {event.text}")
        elif isinstance(event, Notice):
            say(self.console, (event.text, event.style))
        elif isinstance(event, BudgetSkipped):
            self.progress.advance(self.bar, len(event.jobs))
        elif isinstance(event, AttemptFailed):
            say(self.console, (f"✗ {event.job.label}", "red"), f": {event.outcome.message}")
        elif isinstance(event, JobFinished):
            self._finished(event.job, event.outcome)
            self.progress.advance(self.bar)
        return [event]

    def _finished(self, job: Job, outcome: Outcome) -> None:
        if outcome.kind == "done" and outcome.record is not None:
            say(self.console, (f"✓ {job.label}", "green"),
                f": {done_line(outcome.record, outcome.seconds)}")
        elif outcome.kind == "budget":
            paid = outcome.paid_usd
            say(self.console, (f"- {job.label}", "yellow"),
                f": stopped for budget ({outcome.message})"
                + (f"; ${paid:.4f} paid on it before the stop, answers cached for a re-run"
                   if paid else ""))
        elif outcome.kind == "waiting":
            say(self.console, (f"… {job.label}", "cyan"),
                f": waiting in provider batch ({outcome.message}); run the same command "
                "again to collect")
            for line in outcome.batches:
                say(self.console, f"    {line}")
        else:
            say(self.console, (f"✗ {job.label}", "red"), f": {outcome.message}")


def done_line(record: ResultRecord, seconds: float) -> str:
    """A finished job's score, counts and spend, as its line shows them."""
    primary = record.metric()
    score = "n/a" if primary is None or primary.value is None else f"{primary.value:.4f}"
    err = f" ± {primary.stderr:.4f}" if primary and primary.stderr is not None else ""
    spend = (f", ${record.usage.get('spent_usd', 0.0):.4f} spent, "
             f"{int(record.usage.get('requests', 0))} requests "
             f"({int(record.usage.get('cached', 0))} cached)") if record.usage else ""
    flags = "".join(f", {n} {name}" for name, n in
                    (("no answer", record.no_answer), ("truncated", record.truncated),
                     ("refused", record.refused)) if n)
    return (f"{record.primary_metric} {score}{err} "
            f"(n={record.n}{flags}{spend}, {seconds:.1f} s)")


@contextmanager
def driver_sinks(plan: Plan, store: ResultStore, summary: RunSummary,
                 console: Console | None = None,
                 env: Mapping[str, str] | None = None) -> Iterator[Callable[[Event], None]]:
    """The standard sinks for one run, the bar live while it lasts; yields `emit`."""
    models = list({job.model.id: job.model for job in plan.pending}.values())
    progress = ProgressSink(len(plan.pending), console)
    dispatcher = Dispatcher([StoreSink(store, models, os.environ if env is None else env),
                             SummarySink(summary), progress])
    progress.progress.start()
    try:
        yield dispatcher.emit
    finally:
        progress.progress.stop()
