"""Result files <-> records. "The file exists" means "the job finished".

Layout under a results directory:
  records/<model id>/<task>/<key prefix>.json   one finished job, written atomically
  failures.jsonl                                 one line per failed attempt, appended
Paths are only an index: the key and everything else is read from inside the record.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from openvsclosed.recordfile import (  # StoreError: raised to callers of the store
    StoreError,
    read_head,
    read_record,
    read_scored,
)
from openvsclosed.recordframe import records_frame
from openvsclosed.runlogs import RunLogs
from openvsclosed.schema import ResultRecord

if TYPE_CHECKING:
    import pandas as pd

KEY_CHARS_IN_NAME = 24


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file.

    The file gets the permissions any new file would (mkstemp's are 0600), so results can be
    shared as the user's umask intends.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore(RunLogs):
    """The files of one results directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.problems: list[str] = []
        """Stored files that could not be read back (skipped; their jobs run again)."""
        self._finished: dict[Path, tuple[tuple[int, int], str]] = {}
        """Records already found valid in this process, by (mtime, size): asked twice a run."""

    def path_for(self, model_id: str, task: str, key: str) -> Path:
        """Where a job's record lives (task names may hold characters unfit for paths)."""
        safe_task = task.replace(os.sep, "_").replace("/", "_")
        return self.root / "records" / model_id / safe_task / f"{key[:KEY_CHARS_IN_NAME]}.json"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the results directory for one run; a second run is refused, saying who holds it.

        An flock on `.lock`: the kernel releases it when the holder dies, even by kill -9, so
        a crashed run never leaves the directory locked.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        with path.open("a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read(300).strip() or "another process"
                raise StoreError(
                    f"results directory {self.root} is in use by {holder}; wait for that run "
                    "to finish (re-running then resumes it) or give this one another "
                    "--results-dir") from None
            fh.seek(0)
            fh.truncate()
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {started}")
            fh.flush()
            try:
                self._remove_orphans()
                yield
            finally:
                fh.seek(0)
                fh.truncate()
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _remove_orphans(self) -> None:
        """Temp files of writes killed mid-way (safe: the lock says no other writer is here)."""
        for tmp in (self.root / "records").glob("*/*/.*.tmp"):
            tmp.unlink(missing_ok=True)
        for tmp in self.root.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    WRITTEN_FILES = ("failures.jsonl", "budget.json", "budget.lock", ".lock", "skipped.json",
                     "cache/responses.sqlite")
    """Files a run appends to or rewrites in place: each must be writable if it exists."""

    def check_writable(self, record_paths: Iterable[Path] = ()) -> None:
        """Fail before any job runs (and any API call is paid) if results cannot be stored.

        Creates nothing: the nearest existing folder must be a writable folder, every name on
        the way (and in each planned record's path) must fit the file system, and every folder
        and file a run writes into that already exists (records/, a model's folder, the
        response cache, the ledger, the failure log) must be writable: a colleague's read-only
        `records/` would otherwise be found only after the requests were paid for.
        """
        def refuse(reason: str) -> StoreError:
            return StoreError(f"results directory {self.root}: cannot write there ({reason}); "
                              "allowed: a writable folder (--results-dir or results_dir)")

        path = self.root.absolute()
        for candidate in (path, *record_paths):
            for part in Path(candidate).parts[1:]:
                if len(part.encode()) > 255:
                    raise refuse(f"the name {part[:40]}… is longer than 255 bytes")
        existing = path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise refuse(f"{existing} is a file, not a folder")
        folders = [existing]
        if path.is_dir():
            records = path / "records"
            folders += [p for p in (records, path / "cache") if p.exists()]
            if records.is_dir():
                models = [d for d in records.iterdir() if d.is_dir()]
                folders += models + [t for m in models for t in m.iterdir() if t.is_dir()]
        for folder in folders:
            if not folder.is_dir():
                raise refuse(f"{folder} is a file, not a folder")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise refuse(f"{folder} is not writable")
        for name in self.WRITTEN_FILES:
            file = path / name
            if file.exists() and not os.access(file, os.W_OK):
                raise refuse(f"{file} is not writable")

    def has(self, model_id: str, task: str, key: str) -> bool:
        """Whether this job finished: its record exists *and* reads back valid, with its key.

        A truncated, empty or garbage file is not a finished job: it is noted in `problems`
        and the job runs again (its new record replaces the file atomically).
        """
        path = self.path_for(model_id, task, key)
        try:
            if not path.is_file():
                return False
            stamp = (path.stat().st_mtime_ns, path.stat().st_size)
        except OSError:  # a name the file system cannot hold: never stored, so not finished
            return False
        if self._finished.get(path) == (stamp, key):
            return True
        try:
            found = read_head(path).key
        except StoreError as exc:
            self.problems.append(f"{exc}; the job runs again")
            return False
        if found != key:
            self.problems.append(f"{path}: holds another job's record; the job runs again")
            return False
        self._finished[path] = (stamp, key)
        return True

    def put(self, record: ResultRecord) -> Path:
        """Store a finished job atomically."""
        path = self.path_for(record.model.id, record.task, record.key)
        write_atomic(path, record.model_dump_json(indent=1))
        return path

    def get(self, model_id: str, task: str, key: str) -> ResultRecord:
        """One stored record."""
        return read_record(self.path_for(model_id, task, key))

    def records(self) -> Iterator[ResultRecord]:
        """Every readable stored record, in a stable order; unreadable ones go to `problems`."""
        for path in self.record_paths():
            try:
                yield read_record(path)
            except StoreError as exc:
                self.problems.append(f"{exc}; skipped")

    def record_paths(self) -> list[Path]:
        """Every stored record file, in the stable order readers go through them."""
        return sorted((self.root / "records").glob("*/*/*.json"))

    def scored(self, paths: list[Path] | None = None,
               ) -> Iterator[tuple[ResultRecord, dict[str, float]]]:
        """Every readable record without its samples, beside its primary metric per document.

        What a report needs, each file read and parsed once: the samples are only scanned for
        the per-document scores that pair two models (`doc_scores`), never built into objects
        or kept, so a 5,000-record store neither takes minutes nor gigabytes. A record whose
        samples lack what pairing reads (task, doc_id, scores) is skipped into `problems`.
        `paths`: some of `record_paths()` (a share of the store read by one process).
        """
        for path in self.record_paths() if paths is None else paths:
            try:
                yield read_scored(path)
            except StoreError as exc:
                self.problems.append(f"{exc}; skipped")

    def record_skipped(self, skipped: list[dict[str, str]]) -> None:
        """What the last run left out (missing keys, budget, unscorable pairings)."""
        write_atomic(self.skipped_path, json.dumps(skipped, indent=1))

    def to_frame(self) -> pd.DataFrame:
        """One row per stored job with its primary metric, the report's starting point."""
        return records_frame(list(self.records()))


