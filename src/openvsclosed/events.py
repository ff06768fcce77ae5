"""What happens during a run, as plain data: executors emit events, the driver's sinks consume them.

An executor (local, ray) says only what happened: a model copy loaded, a job finished with its
outcome, an attempt died and will be retried, jobs were never started for budget. The sinks
(`sinks`) turn that into the progress bar, the store, the failure log and the spend, so every
executor shows the same lines and only the driver touches the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from openvsclosed.config import ModelSpec
    from openvsclosed.plan import Job
    from openvsclosed.schema import ResultRecord


@dataclass
class Outcome:
    """One attempt of one job as a worker saw it: plain data, so it crosses process lines."""

    kind: Literal["done", "failed", "budget", "waiting"]
    """`waiting`: its requests sit in a provider's batch; a later run collects them."""
    record: ResultRecord | None = None
    error_type: str = ""
    message: str = ""
    paid_usd: float = 0.0
    """Dollars paid on a job that stopped (never lost from the run's account)."""
    seconds: float = 0.0
    worker: dict[str, Any] = field(default_factory=dict)
    batches: tuple[str, ...] = ()
    """A waiting job's provider batches, one human-readable state line each."""

    @classmethod
    def failure(cls, error: BaseException, message: str | None = None) -> Outcome:
        """A failed outcome from an exception the driver saw (a load error, a dead actor)."""
        name = type(error).__name__
        return cls("failed", error_type=name, message=message or f"{name}: {error}")


@dataclass(frozen=True)
class Status:
    """What is going on now (the progress bar's description)."""

    text: str


@dataclass(frozen=True)
class ModelLoaded:
    """A model copy is loaded and about to run its jobs."""

    spec: ModelSpec


@dataclass(frozen=True)
class JobFinished:
    """A job's last word in this run: done, failed, stopped for budget or waiting in a batch."""

    job: Job
    outcome: Outcome


@dataclass(frozen=True)
class AttemptFailed:
    """An attempt that died and will be retried: logged and shown, not counted as a failure."""

    job: Job
    outcome: Outcome


@dataclass(frozen=True)
class BudgetSkipped:
    """Jobs never started because the budget is spent."""

    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class Notice:
    """A line for the user that belongs to no job (a missing cluster resource, a full disk)."""

    text: str
    label: str = ""
    """Our own words before the text, styled (e.g. "note:")."""
    style: str = "yellow"


Event = Status | ModelLoaded | JobFinished | AttemptFailed | BudgetSkipped | Notice


class Sink(Protocol):
    """Consumes events; returns what the sinks after it see (usually just the event)."""

    def handle(self, event: Event) -> Iterable[Event]:
        """Act on one event; return it, or what it became (a refused record is a failure)."""
        ...


class Dispatcher:
    """Fans each event out to the sinks in order; a sink may pass on what it made of it.

    The order is the contract: the store sink goes first, so the terminal and the summary see
    the failure text exactly as it was logged (scrubbed, withheld for a private task).
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    def emit(self, event: Event) -> None:
        """Hand one event to every sink, each seeing what the previous one passed on."""
        events = [event]
        for sink in self.sinks:
            events = [out for seen in events for out in sink.handle(seen)]
