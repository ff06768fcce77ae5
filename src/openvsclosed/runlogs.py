"""A results directory's run logs: the failures log and the last run's skipped jobs.

Part of `ResultStore` (its base class), kept apart from the record files it sits beside.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from openvsclosed.schema import FailureRecord, ResultRecord


class RunLogs:
    """failures.jsonl (appended) and skipped.json (replaced by each run) under `root`."""

    root: Path
    problems: list[str]

    def records(self) -> Iterator[ResultRecord]:  # pragma: no cover - ResultStore's
        """The stored records (ResultStore reads them)."""
        raise NotImplementedError

    @property
    def failures_path(self) -> Path:
        """The append-only failure log."""
        return self.root / "failures.jsonl"

    def record_failure(self, failure: FailureRecord) -> None:
        """Append one failure line (a single write, so lines never interleave)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.failures_path.open("a", encoding="utf-8") as fh:
            fh.write(failure.model_dump_json() + "\n")

    def failures(self) -> list[FailureRecord]:
        """Every failure ever logged here, oldest first."""
        if not self.failures_path.is_file():
            return []
        out = []
        text = self.failures_path.read_text("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(FailureRecord.model_validate_json(line))
            except ValueError:
                self.problems.append(f"{self.failures_path}:{number}: not a failure record; "
                                     "skipped")
        return out

    @property
    def skipped_path(self) -> Path:
        """The jobs the last run skipped, and why (replaced by each run)."""
        return self.root / "skipped.json"

    def skipped(self) -> list[dict[str, str]]:
        """The last run's skipped jobs (model, task, reason); none when unreadable."""
        try:
            data = json.loads(self.skipped_path.read_text("utf-8"))
        except (OSError, ValueError):
            return []
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def open_failures(self, finished: set[tuple[str, str]] | None = None,
                      ) -> list[FailureRecord]:
        """The last failure of each job that has not finished since (what a report lists).

        `finished`: the (model id, key) pairs of the stored records, when the caller has read
        them already (a report reads each record once).
        """
        if finished is None:
            finished = {(r.model.id, r.key) for r in self.records()}
        latest: dict[str, FailureRecord] = {}
        for failure in self.failures():
            if (failure.model_id, failure.key) not in finished:
                latest[failure.key] = failure
        return list(latest.values())
