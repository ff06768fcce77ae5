"""A job left waiting in a provider's batch API: an outcome of its own, never a failure."""

from __future__ import annotations

from collections.abc import Iterable


class BatchPending(Exception):
    """A job whose requests wait in a provider batch; a later run collects them.

    Never a failure: the job is neither stored nor logged, and the run's exit code ignores it.
    """

    def __init__(self, message: str, batches: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.batches: list[str] = list(batches)
        """One human-readable state line per provider batch (id, counts, status)."""
