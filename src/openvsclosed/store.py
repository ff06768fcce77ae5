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

from openvsclosed.schema import SCHEMA_VERSION, FailureRecord, ResultRecord

if TYPE_CHECKING:
    import pandas as pd

KEY_CHARS_IN_NAME = 24
MAX_RECORD_BYTES = 512 * 1024 * 1024
"""Larger files are not records (a full MMLU run with samples is a few tens of MB)."""
FRAME_COLUMNS = ["model", "label", "access", "organization", "released", "params_b", "task",
                 "metric", "score", "stderr", "n", "num_fewshot", "limit", "protocol",
                 "cost_usd", "duration_s", "finished_at", "key", "source", "doc_scores", "note",
                 "own_task", "private"]


class StoreError(Exception):
    """A stored file that cannot be read as a record (corrupt, or from a newer version)."""


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


class ResultStore:
    """The files of one results directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.problems: list[str] = []
        """Stored files that could not be read back (skipped; their jobs run again)."""
        self._finished: dict[Path, tuple[tuple[int, int], str]] = {}
        """Records already found valid in this process, by (mtime, size): asked twice a run."""

    @property
    def failures_path(self) -> Path:
        """The append-only failure log."""
        return self.root / "failures.jsonl"

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
            found = self._read(path, samples=False).key
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
        return self._read(self.path_for(model_id, task, key))

    def records(self) -> Iterator[ResultRecord]:
        """Every readable stored record, in a stable order; unreadable ones go to `problems`."""
        for path in sorted((self.root / "records").glob("*/*/*.json")):
            try:
                yield self._read(path)
            except StoreError as exc:
                self.problems.append(f"{exc}; skipped")

    def _read(self, path: Path, samples: bool = True) -> ResultRecord:
        """The record in a file, validated.

        `samples=False` validates everything but the per-document samples (the bulk of a
        record): all that deciding "finished" needs.
        """
        try:
            if path.stat().st_size > MAX_RECORD_BYTES:
                raise StoreError(f"{path}: larger than {MAX_RECORD_BYTES} bytes, not a record")
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else \
                str(exc)[:200]
            raise StoreError(f"{path}: not a readable result file ({reason})") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema_version {version!r} is not one this version reads "
                f"(up to {SCHEMA_VERSION}); upgrade openvsclosed"
            )
        if not samples:
            data = {**data, "samples": []}
        try:
            return ResultRecord.model_validate(data)
        except (ValueError, RecursionError) as exc:
            first = str(exc).splitlines()[:3]
            raise StoreError(f"{path}: not a valid result record ({'; '.join(first)})") from None

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

    def record_skipped(self, skipped: list[dict[str, str]]) -> None:
        """What the last run left out (missing keys, budget, unscorable pairings)."""
        write_atomic(self.skipped_path, json.dumps(skipped, indent=1))

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

    def to_frame(self) -> pd.DataFrame:
        """One row per stored job with its primary metric, the report's starting point."""
        return records_frame(list(self.records()))


def records_frame(records: list[ResultRecord]) -> pd.DataFrame:
    """Records as rows (primary metric, identity, cost), the report's starting point."""
    import pandas as pd

    rows = []
    for rec in records:
        primary = rec.metric()
        rows.append({
            "model": rec.model.id, "label": rec.model.label, "access": rec.model.access,
            "organization": rec.model.organization, "released": rec.model.released,
            "params_b": rec.model.params_b, "task": rec.task, "metric": rec.primary_metric,
            "score": primary.value if primary else None,
            "stderr": primary.stderr if primary else None, "n": rec.n,
            "num_fewshot": rec.num_fewshot, "limit": rec.key_fields.limit,
            "protocol": rec.key_fields.protocol, "cost_usd": rec.cost_usd,
            "duration_s": rec.duration_s, "finished_at": rec.finished_at, "key": rec.key,
            "source": "measured", "doc_scores": doc_scores(rec), "note": None,
            "own_task": rec.own_task is not None,
            "private": bool(rec.own_task and rec.own_task.get("private")),
        })
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def doc_scores(record: ResultRecord) -> dict[str, float]:
    """The primary metric per document, keyed so two models' samples pair up exactly."""
    name, _, filt = record.primary_metric.partition(",")
    return {
        f"{s.task}/{s.doc_id}/{s.doc_hash}": s.scores[name]
        for s in record.samples
        if s.filter == filt and s.scores.get(name) is not None
    }
