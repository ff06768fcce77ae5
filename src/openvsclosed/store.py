"""Result files <-> records. "The file exists" means "the job finished".

Layout under a results directory:
  records/<model id>/<task>/<key prefix>.json   one finished job, written atomically
  failures.jsonl                                 one line per failed attempt, appended
Paths are only an index: the key and everything else is read from inside the record.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from openvsclosed.schema import SCHEMA_VERSION, FailureRecord, ResultRecord

if TYPE_CHECKING:
    import pandas as pd

KEY_CHARS_IN_NAME = 24
FRAME_COLUMNS = ["model", "label", "access", "organization", "released", "params_b", "task",
                 "metric", "score", "stderr", "n", "num_fewshot", "limit", "protocol",
                 "cost_usd", "duration_s", "finished_at", "key", "source", "doc_scores", "note"]


class StoreError(Exception):
    """A stored file that cannot be read as a record (corrupt, or from a newer version)."""


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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

    @property
    def failures_path(self) -> Path:
        """The append-only failure log."""
        return self.root / "failures.jsonl"

    def path_for(self, model_id: str, task: str, key: str) -> Path:
        """Where a job's record lives (task names may hold characters unfit for paths)."""
        safe_task = task.replace(os.sep, "_").replace("/", "_")
        return self.root / "records" / model_id / safe_task / f"{key[:KEY_CHARS_IN_NAME]}.json"

    def has(self, model_id: str, task: str, key: str) -> bool:
        """Whether this job already finished."""
        return self.path_for(model_id, task, key).is_file()

    def put(self, record: ResultRecord) -> Path:
        """Store a finished job atomically."""
        path = self.path_for(record.model.id, record.task, record.key)
        write_atomic(path, record.model_dump_json(indent=1))
        return path

    def get(self, model_id: str, task: str, key: str) -> ResultRecord:
        """One stored record."""
        return self._read(self.path_for(model_id, task, key))

    def records(self) -> Iterator[ResultRecord]:
        """Every stored record, in a stable order."""
        for path in sorted((self.root / "records").glob("*/*/*.json")):
            yield self._read(path)

    def _read(self, path: Path) -> ResultRecord:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"{path}: not a readable result file ({exc})") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema_version {version!r} is not one this version reads "
                f"(up to {SCHEMA_VERSION}); upgrade openvsclosed"
            )
        try:
            return ResultRecord.model_validate(data)
        except ValueError as exc:
            raise StoreError(f"{path}: not a valid result record ({exc})") from None

    def record_failure(self, failure: FailureRecord) -> None:
        """Append one failure line (a single write, so lines never interleave)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.failures_path.open("a", encoding="utf-8") as fh:
            fh.write(failure.model_dump_json() + "\n")

    def failures(self) -> list[FailureRecord]:
        """Every failure ever logged here, oldest first."""
        if not self.failures_path.is_file():
            return []
        lines = self.failures_path.read_text("utf-8").splitlines()
        return [FailureRecord.model_validate_json(line) for line in lines if line.strip()]

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
