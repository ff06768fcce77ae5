"""What was sent as provider batches, on disk before anything is awaited.

A provider batch is paid once it exists, and the only handle on it is its id. So each batch's
id, provider, input file and request map (custom id -> response-cache key, never prompt text)
are written atomically under `RESULTS_DIR/batches/<model id>/` before the run waits for
anything: a run that is killed or stopped finds the same batches again, polls them and
downloads their results, and never submits the same requests twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

JOURNAL_VERSION = 1
OPEN_STATES = ("submitting", "submitted")
"""Entry states whose batch may still hold requests we have not collected."""


def request_set_id(keys: list[str]) -> str:
    """The name of one job's request set: the same requests, the same journal file."""
    return hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()[:24]


def now_iso() -> str:
    """The time now, UTC, as journals store it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class BatchEntry:
    """One provider batch (or one about to be created) and the requests it carries."""

    custom_ids: list[str]
    """Each request's custom id, which is its response-cache key (no prompt text)."""
    state: str = "submitting"
    """submitting (create sent, id not yet known) | submitted | collected | abandoned."""
    batch_id: str | None = None
    input_file_id: str | None = None
    submitted_at: str = field(default_factory=now_iso)
    reserved_usd: float = 0.0
    """The worst case the budget holds for it until its results settle it."""
    holder: str = ""
    """The process that reserved it (host:pid), to settle a dead run's reservation right."""
    status: str = ""
    """The provider's last reported status, for `run`'s open-batch lines."""
    done: int = 0
    paid_usd: float | None = None
    """What its results cost (set when collected)."""


@dataclass
class Journal:
    """The batches of one job's request set; one JSON file, rewritten atomically."""

    path: Path
    provider: str
    model: str
    endpoint: str
    entries: list[BatchEntry] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    rounds: int = 0
    """How many times requests were (re)submitted: expired and errored lines go again."""

    @classmethod
    def load_or_new(cls, path: Path, *, provider: str, model: str, endpoint: str) -> Journal:
        """The journal at `path`, or a new empty one (not written until something is sent)."""
        if not path.exists():
            return cls(path, provider, model, endpoint)
        data = read_journal(path)
        entries = [BatchEntry(**e) for e in data.get("entries", [])]
        return cls(path, data["provider"], data["model"], data["endpoint"], entries,
                   data.get("created_at", now_iso()), int(data.get("rounds", 0)))

    def save(self) -> None:
        """Write the whole journal atomically (a reader never sees half of it)."""
        from openvsclosed.store import write_atomic

        data: dict[str, Any] = {
            "version": JOURNAL_VERSION, "provider": self.provider, "model": self.model,
            "endpoint": self.endpoint, "created_at": self.created_at, "rounds": self.rounds,
            "collected": not self.open_entries(),
            "entries": [asdict(e) for e in self.entries]}
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))

    def open_entries(self) -> list[BatchEntry]:
        """Entries whose batch may still hold requests not yet collected."""
        return [e for e in self.entries if e.state in OPEN_STATES]

    def covered(self) -> set[str]:
        """Custom ids that an open batch already carries (never submitted again)."""
        return {cid for e in self.open_entries() for cid in e.custom_ids}

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """An exclusive lock on this request set; yields False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class JournalError(Exception):
    """A batch journal that cannot be read: its batches' ids would be lost, so nothing is sent."""


def read_journal(path: Path) -> dict[str, Any]:
    """A journal file's content; an unreadable one stops the job rather than pay twice."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or "provider" not in data:
            raise ValueError("not a journal")
        return data
    except (OSError, ValueError) as exc:
        raise JournalError(
            f"batch journal {path}: it cannot be read ({exc}). It holds the ids of provider "
            "batches already paid for, so nothing is submitted while it is unreadable. "
            f"Restore it, or delete it (rm '{path}') to submit those requests again, paying "
            "again.") from None


def state_line(provider: str, entry: BatchEntry) -> str:
    """One human line for one batch: provider, id, status and progress."""
    name = entry.batch_id or f"(being created, file {entry.input_file_id})"
    status = entry.status or entry.state
    return (f"{provider} batch {name}: {status}, {entry.done}/{len(entry.custom_ids)} done "
            f"(submitted {entry.submitted_at})")


def open_batches(results_root: Path) -> list[str]:
    """One line per journaled batch not yet collected, for `run` to print before it starts."""
    root = Path(results_root) / "batches"
    lines: list[str] = []
    if not root.is_dir():
        return lines
    for path in sorted(root.glob("*/*.json")):
        try:
            data = read_journal(path)
        except JournalError as exc:
            lines.append(str(exc))
            continue
        for raw in data.get("entries", []):
            with contextlib.suppress(TypeError):
                entry = BatchEntry(**raw)
                if entry.state in OPEN_STATES:
                    lines.append(f"{path.parent.name}: {state_line(data['provider'], entry)}")
    return lines


__all__ = ["BatchEntry", "Journal", "JournalError", "open_batches", "request_set_id",
           "state_line"]
